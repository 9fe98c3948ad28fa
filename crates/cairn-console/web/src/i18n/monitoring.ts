// Strings of the monitoring pages.
export const en = {};

export const ja: Record<keyof typeof en, string> = {};
