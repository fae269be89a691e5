'use strict'
// pg/connection: what `client.connection` must be for the libraries that reach into it (Sequelize
// listens for `parameterStatus`; pg-pool destroys `stream` on a connect timeout). A routing client
// has no one connection, so it is an EventEmitter that never emits, with a stream that ends nothing.

const EventEmitter = require('node:events')

class RoutingConnection extends EventEmitter {
  stream = Object.freeze({ destroy() {}, setKeepAlive() {}, ref() {}, unref() {} })
  ref() {}
  unref() {}
}

module.exports = { RoutingConnection }
