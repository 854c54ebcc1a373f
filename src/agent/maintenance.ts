/**
 * Maintenance mode as Consul implements it: a critical check named for the node or service,
 * registered and removed like any other local check (agent/agent.go EnableServiceMaintenance).
 *
 * @module
 */

export const NODE_MAINTENANCE_CHECK_ID = "_node_maintenance";
export const SERVICE_MAINTENANCE_PREFIX = "_service_maintenance:";

export const DEFAULT_NODE_MAINTENANCE_REASON =
  "Maintenance mode is enabled for this node, but no reason was provided. This is a default message.";
export const DEFAULT_SERVICE_MAINTENANCE_REASON =
  "Maintenance mode is enabled for this service, but no reason was provided. This is a default message.";

export const serviceMaintenanceCheckId = (serviceId: string): string =>
  `${SERVICE_MAINTENANCE_PREFIX}${serviceId}`;

/** True for the check ids that mean "in maintenance" rather than "unhealthy". */
export function isMaintenanceCheck(checkId: string): boolean {
  return checkId === NODE_MAINTENANCE_CHECK_ID || checkId.startsWith(SERVICE_MAINTENANCE_PREFIX);
}
