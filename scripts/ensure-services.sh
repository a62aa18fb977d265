#!/usr/bin/env bash
# Makes a Debian machine ready for `pnpm test`: installs whatever the suite needs and is missing
# (quietly; nothing is installed twice), makes sure the local PostgreSQL, Redis and RabbitMQ are
# up (starting any that are down), waits until each answers, and checks that PostgreSQL lets
# `postgres` in over TCP without a password. Used by CI (.ci/run); harmless to run again on a
# machine where everything is there. The README lists the same prerequisites.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# command the suite runs -> the Debian package that provides it
prerequisites=(
  "pg_ctlcluster postgresql"         # the database server
  "redis-server redis-server"
  "rabbitmq-server rabbitmq-server"  # the broker, and the cluster tests start nodes of their own
  "rabbitmqctl rabbitmq-server"      # admin: the tests create vhosts and raise alarms with it
  "pgbench postgresql-contrib"       # the benchmarks' baseline (dpkg -S pgbench: postgresql-15)
  "docker-compose docker-compose"    # the deploy test validates docker-compose.yml (no engine needed)
  "promtool prometheus"              # checks deploy/prometheus/*.yml
)
missing=()
for entry in "${prerequisites[@]}"; do
  read -r command package <<<"$entry"
  if ! command -v "$command" >/dev/null 2>&1 && [[ ! " ${missing[*]} " == *" $package "* ]]; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "missing: ${missing[*]}; this is not Debian, so install them yourself (README, \"Prerequisites\")" >&2
    exit 1
  fi
  echo "installing ${missing[*]}"
  # A package's own service must not start on install (prometheus would take :9090): the services
  # the suite needs are started below, the way it expects them. policy-rc.d 101 = "do not start".
  policy_added=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
    policy_added=1
  fi
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$policy_added" ]; then as_root rm -f /usr/sbin/policy-rc.d; fi
fi

wait_for() {
  local what=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "$what did not come up" >&2
  return 1
}

if ! pg_isready -h 127.0.0.1 -q; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
wait_for PostgreSQL pg_isready -h 127.0.0.1 -q

# The contract's DATABASE_URL has no password: `postgres` must be trusted over TCP.
if ! psql -h 127.0.0.1 -U postgres -w -Atqc 'SELECT 1' >/dev/null 2>&1; then
  hba=$(as_root runuser -u postgres -- psql -Atqc 'SHOW hba_file' 2>/dev/null || echo "pg_hba.conf")
  cat >&2 <<MSG
PostgreSQL refuses user postgres over TCP without a password; the tests need trust auth there.
Add these lines above the other "host" lines of $hba, then reload
(pg_ctlcluster $(ls /etc/postgresql) main reload):
  host  all  postgres  127.0.0.1/32  trust
  host  all  postgres  ::1/128       trust
MSG
  exit 1
fi

if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
wait_for Redis redis-cli -h 127.0.0.1 ping

if ! timeout 20 rabbitmqctl -q status >/dev/null 2>&1; then
  echo "starting RabbitMQ"
  rabbitmq-server -detached
fi
wait_for RabbitMQ timeout 20 rabbitmqctl -q await_startup

# --- promtool, for the alert rules test (packages/ops/test/alerts.int.test.ts) ---
# Debian ships it in the prometheus package; only promtool is used, and without recommends the
# exporters stay out. In a container (policy-rc.d, no init) the package's server is not started.
if ! command -v promtool >/dev/null 2>&1; then
  echo "installing promtool (Debian package prometheus)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
