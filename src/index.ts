/**
 * gopherdiscovery: simple service discovery over nanomsg's Scalability Protocols.
 *
 * The public surface: servers, clients, subscribers, the application supervisor, the
 * types of their options, events and health, the errors, and the documented defaults.
 * The machinery (actor runs, thread pools, wire codecs, error serialization) is not
 * exported; what tests of actors need is in `gopherdiscovery/testing`.
 */
/// <reference types="node" preserve="true" />
export {
  createServer,
  Server,
  DEFAULT_REFUSAL_LOG_INTERVAL_MS,
  type ServerOptions,
  type ServerEvents,
  type ServerStats,
  type MembershipChange,
  type RoundInfo,
  type JoinSurveyInfo,
} from './server.js';
export type { RefusalSummary } from './refusal-log.js';
export { createClient, Client, type ClientOptions, type ClientEvents } from './client.js';
export { subscribe, Subscriber, type SubscribeOptions, type SubscriberEvents } from './subscriber.js';
export type { ListRefusal } from './peer-lists.js';
export type { AcceptOption } from './admission.js';
export { MIN_SECRET_LENGTH } from './keyring.js';
export {
  SUPERVISOR_DEFAULTS,
  type Supervisor,
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
export type { ExitReason, ThreadSharing } from './actor-run.js';
export type { ActorKind, Fault } from './actors/messages.js';
export {
  GopherDiscoveryError,
  InvalidUrlError,
  InvalidServiceNameError,
  InvalidOptionError,
  SocketError,
  MalformedMessageError,
  ActorTimeoutError,
  ActorExitedError,
  SupervisorGiveUpError,
  ClosedError,
  NoPubSubError,
  NativeBuildMissingError,
  MissingPeerError,
  type ServiceNameRule,
} from './errors.js';
export {
  DEFAULT_MAX_MEMBERS,
  DEFAULT_MAX_NAME_BYTES,
  DEFAULT_TIMING,
  TIMING_LIMITS,
  REFUSAL_REASONS,
  LIST_REFUSAL_REASONS,
  type ServerTiming,
  type RefusalReason,
  type ListRefusalReason,
  type RoundSchedule,
} from './protocol.js';
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
