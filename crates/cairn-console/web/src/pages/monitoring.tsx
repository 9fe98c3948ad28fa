// Monitoring pages: CloudWatch Logs log groups (events, streams, metric filters) and CloudWatch alarms. The pages
// live in ./monitoring/; this module is what the router imports.
export { LogGroups } from './monitoring/log-groups';
export { Alarms } from './monitoring/alarms';
