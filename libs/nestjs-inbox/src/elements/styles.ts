/**
 * The elements' one stylesheet. Theming: the `--inbox-*` custom properties below (inherited
 * through the shadow root) and `::part()`; light and dark follow the page's color scheme, or
 * `theme="light|dark"` on the element. Layout uses logical properties, so right-to-left works.
 */
export const STYLES = `
:host{--_accent:var(--inbox-accent,#1d4ed8);--_on-accent:var(--inbox-on-accent,#fff);--_bg:var(--inbox-bg,#fff);--_fg:var(--inbox-fg,#111827);--_muted:var(--inbox-muted,#4b5563);--_border:var(--inbox-border,#d1d5db);--_unread:var(--inbox-unread-bg,#eff6ff);--_badge:var(--inbox-badge-bg,#b91c1c);--_radius:var(--inbox-radius,10px);font-family:var(--inbox-font,system-ui,sans-serif);font-size:var(--inbox-font-size,14px);color:var(--_fg);display:inline-block;color-scheme:light}
:host([hidden]){display:none}
@media (prefers-color-scheme:dark){:host(:not([theme=light])){--_accent:var(--inbox-accent,#93c5fd);--_on-accent:var(--inbox-on-accent,#111827);--_bg:var(--inbox-bg,#111827);--_fg:var(--inbox-fg,#f9fafb);--_muted:var(--inbox-muted,#9ca3af);--_border:var(--inbox-border,#374151);--_unread:var(--inbox-unread-bg,#1e293b);color-scheme:dark}}
:host([theme=dark]){--_accent:var(--inbox-accent,#93c5fd);--_on-accent:var(--inbox-on-accent,#111827);--_bg:var(--inbox-bg,#111827);--_fg:var(--inbox-fg,#f9fafb);--_muted:var(--inbox-muted,#9ca3af);--_border:var(--inbox-border,#374151);--_unread:var(--inbox-unread-bg,#1e293b);color-scheme:dark}
*{box-sizing:border-box}
svg{width:1.15em;height:1.15em;flex:none}
button,select{font:inherit;color:inherit;background:none;border:1px solid transparent;border-radius:6px;padding:4px 8px;cursor:pointer;display:inline-flex;align-items:center;gap:4px}
button:hover,select:hover{background:color-mix(in srgb,var(--_fg) 8%,transparent)}
button:disabled{opacity:.55;cursor:default}
:focus-visible{outline:2px solid var(--_accent);outline-offset:2px}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.bell{position:relative;padding:6px;font-size:1.3em}
.badge{position:absolute;inset-block-start:-2px;inset-inline-end:-4px;min-width:1.4em;padding:0 4px;border-radius:999px;background:var(--_badge);color:#fff;font-size:.6em;font-weight:700;line-height:1.5em;text-align:center}
.badge[hidden]{display:none}
.popover{position:fixed;margin:0;padding:0;border:1px solid var(--_border);border-radius:var(--_radius);background:var(--_bg);color:var(--_fg);width:min(var(--inbox-width,400px),calc(100vw - 16px));box-shadow:0 12px 32px rgb(0 0 0 / .2)}
.popover::backdrop{background:transparent}
.popover .close{position:absolute;inset-block-start:6px;inset-inline-end:6px;z-index:1}
.popover inbox-feed{display:block}
.feed{display:flex;flex-direction:column;background:var(--_bg);color:var(--_fg);border-radius:var(--_radius);max-height:var(--inbox-max-height,70vh);min-width:260px}
.toolbar{display:flex;align-items:center;gap:4px;padding:8px;padding-inline-end:44px;border-block-end:1px solid var(--_border);flex-wrap:wrap}
[role=tablist]{display:flex;gap:2px;flex:1}
[role=tab][aria-selected=true]{color:var(--_accent);border-block-end:2px solid var(--_accent);border-radius:6px 6px 0 0;font-weight:600}
.count{background:var(--_accent);color:var(--_on-accent);border-radius:999px;padding:0 6px;font-size:.8em;font-weight:700}
.status{margin:0;padding:16px;text-align:center;color:var(--_muted)}
.status[data-kind=error],.status[data-kind=offline]{color:var(--_fg);background:color-mix(in srgb,var(--_badge) 14%,var(--_bg))}
.status[hidden]{display:none}
.scroller{overflow-y:auto;flex:1}
.list{display:flex;flex-direction:column}
.item{display:flex;gap:10px;align-items:flex-start;padding:10px 12px;border-block-end:1px solid var(--_border);cursor:pointer;position:relative}
.item.unread{background:var(--_unread)}
.item:hover{background:color-mix(in srgb,var(--_accent) 8%,var(--_bg))}
.avatar{width:32px;height:32px;border-radius:50%;flex:none;display:grid;place-items:center;background:var(--_border);color:var(--_fg);font-weight:600;object-fit:cover}
.content{flex:1;min-width:0}
.text p{margin:0 0 2px;overflow-wrap:anywhere}
.group{font-weight:600}
.title{font-weight:600}
.item:not(.unread) .title{font-weight:500}
.body,time{color:var(--_muted)}
time{font-size:.85em}
.actions{display:flex;gap:6px;margin-block-start:6px;flex-wrap:wrap}
.actions button{border-color:var(--_accent);color:var(--_accent)}
.actions button:first-child{background:var(--_accent);color:var(--_on-accent)}
.menu{display:flex;gap:0;align-items:center;flex-wrap:wrap;justify-content:flex-end;max-width:45%}
.menu button{padding:4px}
.snooze{position:relative;display:inline-flex;align-items:center;padding:4px;color:var(--_fg)}
.snooze select{position:absolute;inset:0;opacity:0;width:100%}
.dot{position:absolute;inset-block-start:14px;inset-inline-start:4px;width:6px;height:6px;border-radius:50%;background:var(--_accent)}
.sentinel{height:1px}
.preferences{display:block;background:var(--_bg);color:var(--_fg);padding:12px;border-radius:var(--_radius)}
.preferences h2{font-size:1.1em;margin:0 0 8px}
fieldset{border:1px solid var(--_border);border-radius:8px;margin:0 0 10px;padding:8px 12px}
.switch{display:flex;align-items:center;gap:8px;padding:4px 0}
.kinds{padding-inline-start:24px}
.fields{display:flex;flex-wrap:wrap;gap:8px 16px;padding:4px 0}
.field{display:flex;flex-direction:column;gap:2px}
.field input,.field select{font:inherit;color:inherit;background:var(--_bg);border:1px solid var(--_border);border-radius:6px;padding:3px 6px;max-width:14em}
.hint{margin:4px 0;color:var(--_muted)}
.detail{display:block;font-size:.85em}
.toasts{position:fixed;inset-block-end:16px;inset-inline-end:16px;z-index:2147483000;display:flex;flex-direction:column;gap:8px;width:min(var(--inbox-width,360px),calc(100vw - 32px))}
.toast{display:flex;gap:8px;align-items:flex-start;padding:10px 12px;background:var(--_bg);color:var(--_fg);border:1px solid var(--_border);border-inline-start:4px solid var(--_accent);border-radius:var(--_radius);box-shadow:0 8px 24px rgb(0 0 0 / .18);animation:inbox-toast-in .2s ease-out}
.toast .text{flex:1;min-width:0}
.toast button{padding:2px}
@keyframes inbox-toast-in{from{opacity:0;transform:translateY(8px)}}
@media (prefers-reduced-motion:reduce){.toast{animation:none}}
`;
