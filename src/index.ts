/**
 * AMP public API. The protocol core (merkle, events, log, consensus, nexus) never imports Hardhat.
 */
export * from "./util/errors";
export { createLogger, type Logger } from "./util/log";
export * from "./merkle";
export * from "./events";
export * from "./log";
export * from "./archive";
export * from "./batching";
export * from "./manifest";
