/**
 * The elements' strings, per language. `{name}` placeholders are filled with text (never markup).
 * A language is found by its full tag (`zh-TW`) first, then its base (`zh`), then English.
 */
export interface InboxMessages {
  notifications: string;
  /** The bell's accessible name when something is unseen. */
  bellUnseen: string;
  all: string;
  unread: string;
  archived: string;
  markRead: string;
  markAllRead: string;
  archive: string;
  unarchive: string;
  delete: string;
  snooze: string;
  snoozeHour: string;
  snoozeTomorrow: string;
  snoozeWeek: string;
  actions: string;
  close: string;
  loading: string;
  empty: string;
  offline: string;
  signedOut: string;
  failed: string;
  /** Announced politely when a notification arrives. */
  arrived: string;
  /** A group with one other actor: "Alice and one other". */
  groupOne: string;
  /** "Alice and 3 others". */
  groupMany: string;
  preferences: string;
  types: string;
  topics: string;
  saved: string;
  /** `<inbox-preferences>`: the channels, each a group with its own switch. */
  email: string;
  webPush: string;
  emailOn: string;
  webPushOn: string;
  /** The Web Push subscription of this browser (the `service-worker` attribute). */
  pushHere: string;
  quietHours: string;
  quietOn: string;
  quietFrom: string;
  quietUntil: string;
  timeZone: string;
  /** The server refused (`FORBIDDEN`, the host's `mutable`): "{name}" is the switch's label. */
  refused: string;
  /** The server found the change invalid (`INVALID_INPUT`). */
  rejected: string;
  unavailable: string;
  pushBlocked: string;
  pushUnsupported: string;
  /** `<inbox-toasts>`: the dismiss button's label. */
  dismiss: string;
}

const en: InboxMessages = {
  notifications: 'Notifications',
  bellUnseen: 'Notifications, {count} unseen',
  all: 'All',
  unread: 'Unread',
  archived: 'Archived',
  markRead: 'Mark as read',
  markAllRead: 'Mark all as read',
  archive: 'Archive',
  unarchive: 'Move to inbox',
  delete: 'Delete',
  snooze: 'Snooze',
  snoozeHour: 'For an hour',
  snoozeTomorrow: 'Until tomorrow',
  snoozeWeek: 'For a week',
  actions: 'Actions',
  close: 'Close',
  loading: 'Loading…',
  empty: 'No notifications',
  offline: 'Offline, reconnecting…',
  signedOut: 'Sign in to see your notifications',
  failed: 'That did not work, please try again',
  arrived: 'New notification: {title}',
  groupOne: '{name} and one other',
  groupMany: '{name} and {count} others',
  preferences: 'Notification settings',
  types: 'Kinds',
  topics: 'Topics',
  saved: 'Saved',
  email: 'E-mail',
  webPush: 'Push notifications',
  emailOn: 'Send e-mails',
  webPushOn: 'Send push notifications',
  pushHere: 'On this browser',
  quietHours: 'Quiet hours',
  quietOn: 'Hold e-mails and pushes during these hours',
  quietFrom: 'From',
  quietUntil: 'Until',
  timeZone: 'Time zone',
  refused: '“{name}” cannot be turned off',
  rejected: '“{name}” was not accepted',
  unavailable: 'The server is not available, please try again later',
  pushBlocked: 'This browser blocks notifications from this site',
  pushUnsupported: 'This browser cannot receive push notifications',
  dismiss: 'Dismiss',
};

const zh: InboxMessages = {
  notifications: '通知',
  bellUnseen: '通知，{count} 条未查看',
  all: '全部',
  unread: '未读',
  archived: '已归档',
  markRead: '标为已读',
  markAllRead: '全部标为已读',
  archive: '归档',
  unarchive: '移回收件箱',
  delete: '删除',
  snooze: '稍后提醒',
  snoozeHour: '一小时后',
  snoozeTomorrow: '明天',
  snoozeWeek: '一周后',
  actions: '操作',
  close: '关闭',
  loading: '加载中…',
  empty: '没有通知',
  offline: '离线，正在重新连接…',
  signedOut: '登录后查看通知',
  failed: '操作失败，请重试',
  arrived: '新通知：{title}',
  groupOne: '{name} 和另外 1 人',
  groupMany: '{name} 和另外 {count} 人',
  preferences: '通知设置',
  types: '类型',
  topics: '主题',
  saved: '已保存',
  email: '电子邮件',
  webPush: '推送通知',
  emailOn: '发送电子邮件',
  webPushOn: '发送推送通知',
  pushHere: '在此浏览器上',
  quietHours: '免打扰时段',
  quietOn: '在此时段内暂缓电子邮件和推送',
  quietFrom: '从',
  quietUntil: '至',
  timeZone: '时区',
  refused: '“{name}”无法关闭',
  rejected: '“{name}”未被接受',
  unavailable: '服务器暂不可用，请稍后重试',
  pushBlocked: '此浏览器已阻止本网站的通知',
  pushUnsupported: '此浏览器无法接收推送通知',
  dismiss: '关闭',
};

const de: InboxMessages = {
  notifications: 'Benachrichtigungen',
  bellUnseen: 'Benachrichtigungen, {count} ungesehen',
  all: 'Alle',
  unread: 'Ungelesen',
  archived: 'Archiviert',
  markRead: 'Als gelesen markieren',
  markAllRead: 'Alle als gelesen markieren',
  archive: 'Archivieren',
  unarchive: 'Zurück in den Posteingang',
  delete: 'Löschen',
  snooze: 'Später erinnern',
  snoozeHour: 'In einer Stunde',
  snoozeTomorrow: 'Morgen',
  snoozeWeek: 'In einer Woche',
  actions: 'Aktionen',
  close: 'Schließen',
  loading: 'Wird geladen…',
  empty: 'Keine Benachrichtigungen',
  offline: 'Offline, verbinde neu…',
  signedOut: 'Melden Sie sich an, um Ihre Benachrichtigungen zu sehen',
  failed: 'Das hat nicht geklappt, bitte erneut versuchen',
  arrived: 'Neue Benachrichtigung: {title}',
  groupOne: '{name} und eine weitere Person',
  groupMany: '{name} und {count} weitere',
  preferences: 'Benachrichtigungseinstellungen',
  types: 'Arten',
  topics: 'Themen',
  saved: 'Gespeichert',
  email: 'E-Mail',
  webPush: 'Push-Benachrichtigungen',
  emailOn: 'E-Mails senden',
  webPushOn: 'Push-Benachrichtigungen senden',
  pushHere: 'In diesem Browser',
  quietHours: 'Ruhezeiten',
  quietOn: 'E-Mails und Push-Nachrichten in dieser Zeit zurückhalten',
  quietFrom: 'Von',
  quietUntil: 'Bis',
  timeZone: 'Zeitzone',
  refused: '„{name}“ kann nicht ausgeschaltet werden',
  rejected: '„{name}“ wurde nicht angenommen',
  unavailable: 'Der Server ist nicht erreichbar, bitte später erneut versuchen',
  pushBlocked: 'Dieser Browser blockiert Benachrichtigungen dieser Website',
  pushUnsupported: 'Dieser Browser kann keine Push-Benachrichtigungen empfangen',
  dismiss: 'Schließen',
};

const ar: InboxMessages = {
  notifications: 'الإشعارات',
  bellUnseen: 'الإشعارات، {count} غير مشاهدة',
  all: 'الكل',
  unread: 'غير مقروءة',
  archived: 'المؤرشفة',
  markRead: 'تعليم كمقروء',
  markAllRead: 'تعليم الكل كمقروء',
  archive: 'أرشفة',
  unarchive: 'نقل إلى الوارد',
  delete: 'حذف',
  snooze: 'تأجيل',
  snoozeHour: 'لمدة ساعة',
  snoozeTomorrow: 'حتى الغد',
  snoozeWeek: 'لمدة أسبوع',
  actions: 'إجراءات',
  close: 'إغلاق',
  loading: 'جارٍ التحميل…',
  empty: 'لا توجد إشعارات',
  offline: 'غير متصل، جارٍ إعادة الاتصال…',
  signedOut: 'سجّل الدخول لرؤية إشعاراتك',
  failed: 'تعذّر ذلك، حاول مرة أخرى',
  arrived: 'إشعار جديد: {title}',
  groupOne: '{name} وشخص آخر',
  groupMany: '{name} و{count} آخرون',
  preferences: 'إعدادات الإشعارات',
  types: 'الأنواع',
  topics: 'المواضيع',
  saved: 'تم الحفظ',
  email: 'البريد الإلكتروني',
  webPush: 'إشعارات الدفع',
  emailOn: 'إرسال رسائل البريد الإلكتروني',
  webPushOn: 'إرسال إشعارات الدفع',
  pushHere: 'على هذا المتصفح',
  quietHours: 'ساعات الهدوء',
  quietOn: 'تأجيل الرسائل والإشعارات خلال هذه الساعات',
  quietFrom: 'من',
  quietUntil: 'حتى',
  timeZone: 'المنطقة الزمنية',
  refused: 'لا يمكن إيقاف «{name}»',
  rejected: 'لم يُقبل «{name}»',
  unavailable: 'الخادم غير متاح، حاول مرة أخرى لاحقًا',
  pushBlocked: 'هذا المتصفح يحظر الإشعارات من هذا الموقع',
  pushUnsupported: 'هذا المتصفح لا يستقبل إشعارات الدفع',
  dismiss: 'إغلاق',
};

const catalog = new Map<string, Partial<InboxMessages>>([
  ['en', en],
  ['zh', zh],
  ['de', de],
  ['ar', ar],
]);
/** Languages written right to left (by base tag). */
const RTL = new Set(['ar', 'he', 'fa', 'ur', 'ps', 'yi']);

/** Hook for the elements on the page: they re-render when a language is (re)registered. */
export const MESSAGES_CHANGED = 'inbox-messages-changed';

/**
 * Adds or completes a language: `registerInboxMessages('fr', { notifications: 'Notifications', … })`.
 * A key left out falls back to English. Elements already on the page re-render.
 */
export function registerInboxMessages(lang: string, messages: Partial<InboxMessages>): void {
  const tag = lang.toLowerCase();
  catalog.set(tag, { ...catalog.get(tag), ...messages });
  globalThis.dispatchEvent?.(new Event(MESSAGES_CHANGED));
}

/** The strings for `lang`, each key from the most specific language that has it. */
export function messagesFor(lang: string): InboxMessages {
  const tag = lang.toLowerCase();
  return { ...en, ...catalog.get(tag.split('-')[0]), ...catalog.get(tag) };
}

export function isRtl(lang: string): boolean {
  return RTL.has(lang.toLowerCase().split('-')[0]);
}

/** `{name}` placeholders replaced; the result is set as text by the caller. */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => (key in values ? String(values[key]) : whole));
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 31_536_000],
  ['month', 2_592_000],
  ['week', 604_800],
  ['day', 86_400],
  ['hour', 3_600],
  ['minute', 60],
  ['second', 1],
];

/** "3 minutes ago", "vor 3 Minuten", "منذ 3 دقائق": the largest whole unit. */
export function relativeTime(iso: string, lang: string, now = Date.now()): string {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const format = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' });
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === 'second') {
      // Under ten seconds reads as "now" rather than a ticking count.
      return unit === 'second' && Math.abs(seconds) < 10 ? format.format(0, 'second') : format.format(Math.round(seconds / size), unit);
    }
  }
  return '';
}

export function formatNumber(n: number, lang: string): string {
  return new Intl.NumberFormat(lang).format(n);
}
