// Package zookeeper reads the ZooKeeper group Apache Mesos masters join,
// the way Mesos's own detector does, and stores certmagic's certificates
// and locks in ZooKeeper so that several gateways share them.
//
// # Naming masters the Mesos way
//
// Agents, frameworks and tools name the masters as
// zk://[user:password@]host:port[,host:port...]/path (ParseURL), or as
// file:///path naming a file that holds such a URL (ReadMasterFile).
//
// # The masters' group
//
// Every master, standbys included, holds an ephemeral sequential znode
// under the path: "json.info_0000000003" holding its MasterInfo as JSON
// (Mesos 0.24 and later), "info_0000000003" holding it as a serialized
// protobuf (Mesos 0.23), or a bare sequence holding its pid (older). The
// lowest sequence leads (zookeeper/detector.cpp). Watch follows the group
// and delivers a Group (the masters sorted by sequence, leader first) on
// every change; Read reads it once. A master's znode vanishes when its
// session ends, so a failover is seen within milliseconds; a master that
// dies without closing its session is seen when ZooKeeper expires the
// session (Mesos asks for 10 s).
//
// Join registers a member the way a Mesos master does; the simulated
// cluster's masters use it.
//
// # Certificates
//
// Storage is a certmagic.Storage whose keys are znodes and whose locks
// follow ZooKeeper's lock recipe, so that of several gateways only one
// issues a given certificate and all serve it.
//
// # The client library
//
// Sessions come from github.com/go-zookeeper/zk, which keeps a session
// across reconnections and resends watches and credentials. This package
// gives it a host provider and dialer of its own: reconnection attempts
// back off from 100 ms to 4 s, and a closing client stops at once.
package zookeeper
