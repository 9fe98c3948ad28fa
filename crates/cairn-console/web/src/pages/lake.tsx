// CloudTrail Lake pages: event data stores, the query editor and dashboards (each in pages/lake/).
export { LakeStores } from './lake/stores';
export { LakeQuery } from './lake/query';
export { LakeDashboards } from './lake/dashboards';
