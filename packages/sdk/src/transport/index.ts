export {
  createGrpcHttp2Transport,
  type GrpcHttp2Transport,
  type GrpcHttp2TransportOptions,
  streamHoldsEventLoop,
} from './grpc-http2-transport.js';
