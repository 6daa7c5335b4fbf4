/** gopherdiscovery: simple service discovery over nanomsg's Scalability Protocols. */
export {
  createServer,
  Server,
  DEFAULT_REFUSAL_LOG_INTERVAL_MS,
  type ServerOptions,
  type ServerEvents,
  type ServerStats,
  type MembershipChange,
  type RoundInfo,
} from './server.js';
export { RefusalLog, type RefusalSummary } from './refusal-log.js';
export { createClient, Client, type ClientOptions, type ClientEvents } from './client.js';
export { subscribe, Subscriber, type SubscribeOptions, type SubscriberEvents } from './subscriber.js';
export type { ListRefusal } from './peer-lists.js';
export type { AcceptOption } from './admission.js';
export { MIN_SECRET_LENGTH } from './keyring.js';
export {
  Supervisor,
  SUPERVISOR_DEFAULTS,
  type ChildSpec,
  type ChildHealth,
  type ChildState,
  type RestartPolicy,
  type Strategy,
  type SupervisorOptions,
  type SupervisorEvents,
  type ActorStartEvent,
  type ActorExitEvent,
  type ActorRestartEvent,
  type GiveUpEvent,
} from './supervisor.js';
export { ActorRun, type ActorExit, type ExitReason } from './actor-run.js';
export { closeActorPool, actorThreadCount } from './pool.js';
export * from './errors.js';
export { SERVER_OPTION_NAMES } from './server.js';
export { CLIENT_OPTION_NAMES } from './client.js';
export { SUBSCRIBE_OPTION_NAMES } from './subscriber.js';
export { SUPERVISOR_OPTION_NAMES } from './supervisor.js';
export { APP_SUPERVISOR_OPTION_NAMES } from './app-supervisor.js';
export {
  encodeMembers,
  decodeMembers,
  diffLists,
  validateServiceName,
  parseEndpoint,
  DEFAULT_MAX_MEMBERS,
  DEFAULT_MAX_NAME_BYTES,
  DEFAULT_TIMING,
  TIMING_LIMITS,
  REFUSAL_REASONS,
  LIST_REFUSAL_REASONS,
  validateTiming,
  type Endpoint,
  type ServerTiming,
  type RefusalReason,
  type ListRefusalReason,
  type RoundSchedule,
} from './protocol.js';
export type * from './actors/messages.js';
export {
  createSupervisor,
  AppSupervisor,
  APP_SUPERVISOR_DEFAULTS,
  type AppSupervisorOptions,
  type AppSupervisorEvents,
  type TreeHealth,
  type TreeRestartEvent,
} from './app-supervisor.js';
export type { HandleEvents } from './handle.js';
