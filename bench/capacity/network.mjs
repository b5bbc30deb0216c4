/**
 * The network between replicas and worker hosts: a fixed round trip (half each way) for every
 * message, and each worker host's NIC, one first-come-first-served link per direction that takes
 * a message's bytes (plus framing) at its bandwidth. Replicas' own NICs and the switches are not
 * modelled: the worker hosts are where the bytes of many replicas meet.
 */
import { Server } from './resources.mjs';

/** HTTP/2 frame and gRPC message headers, roughly, per message. */
const framingBytes = 100;

export class Link {
  constructor(loop, gbps, name) {
    this.loop = loop;
    // Gbit/s → bytes per ms.
    this.bytesPerMs = (gbps * 1e9) / 8 / 1000;
    this.server = Number.isFinite(gbps) ? new Server(loop, 1, name) : undefined;
  }

  /** Sends `bytes` over the link, then `done`. */
  carry(bytes, done) {
    if (this.server === undefined) done();
    else this.server.hold((bytes + framingBytes) / this.bytesPerMs, done);
  }

  utilisation() {
    return this.server?.utilisation() ?? 0;
  }
}

export class Network {
  constructor(loop, rttMs) {
    this.loop = loop;
    this.oneWayMs = rttMs / 2;
  }

  /** Replica → worker host: across the network, then in through the host's NIC. */
  toHost(host, bytes, arrive) {
    this.loop.after(this.oneWayMs, () => host.nicIn.carry(bytes, arrive));
  }

  /** Worker host → replica: out through the host's NIC, then across the network. */
  toReplica(host, bytes, arrive) {
    host.nicOut.carry(bytes, () => this.loop.after(this.oneWayMs, arrive));
  }
}
