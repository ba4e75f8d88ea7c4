export { PeerClient, PeerError, type PeerClientOptions, type PeerRequest, type PeerResponse } from "./client";
export { HttpTransport, type HttpTransportConfig } from "./http-transport";
export { SIGNATURE_HEADER, UnauthenticatedError, signBody, verifyBody } from "./wire";
