#!/bin/sh
# The Compose file's Kafka broker (apache/kafka image), set up as deploy/kafka/kafka.sh sets up
# the local one: clients authenticate with SASL/SCRAM-SHA-512 on both client listeners (kafka:9092
# inside the Compose network, localhost:19092 from the host), the broker to its own controller
# with SASL/PLAIN. Only `admin` is made here, when the data volume is first formatted; it alone
# manages users, ACLs and the cluster. The services' users and their ACLs are made by the
# `topics` job (python -m invoicesync.kafka.access), one user per service.
set -eu
: "${KAFKA_ADMIN_PASSWORD:?set KAFKA_ADMIN_PASSWORD}"
data=/var/lib/kafka/data
properties=/tmp/invoicesync/server.properties
client=/tmp/invoicesync/admin-client.properties
mkdir -p /tmp/invoicesync
umask 077

cat >"$properties" <<PROPERTIES
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=SASL_PLAINTEXT://:9092,HOST://:19092,CONTROLLER://localhost:9093
advertised.listeners=SASL_PLAINTEXT://kafka:9092,HOST://localhost:19092
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,HOST:SASL_PLAINTEXT
log.dirs=$data
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$KAFKA_ADMIN_PASSWORD";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$KAFKA_ADMIN_PASSWORD" user_admin="$KAFKA_ADMIN_PASSWORD";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
PROPERTIES

# For the healthcheck's kafka-topics.sh --command-config.
cat >"$client" <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$KAFKA_ADMIN_PASSWORD";
PROPERTIES

if [ ! -f "$data/meta.properties" ]; then
    /opt/kafka/bin/kafka-storage.sh format -t "$(/opt/kafka/bin/kafka-storage.sh random-uuid)" \
        -c "$properties" --add-scram "SCRAM-SHA-512=[name=admin,password=$KAFKA_ADMIN_PASSWORD]"
fi

exec /opt/kafka/bin/kafka-server-start.sh "$properties"
