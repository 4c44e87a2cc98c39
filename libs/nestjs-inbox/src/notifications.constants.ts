/** Injection token of the resolved {@link NotificationsModuleOptions}. */
export const NOTIFICATIONS_OPTIONS = Symbol('NOTIFICATIONS_OPTIONS');
