#!/bin/bash
set -u
cd /tmp/h8snap
B=27946
serf agent -node=alpha -bind=127.0.0.1:$((B)) -rpc-addr=127.0.0.1:$((B+100)) -snapshot=alpha.snap >alpha.log 2>&1 & PA=$!
serf agent -node=bravo -bind=127.0.0.1:$((B+1)) -rpc-addr=127.0.0.1:$((B+101)) -snapshot=bravo.snap >bravo.log 2>&1 & PB=$!
serf agent -node=charlie -bind=127.0.0.1:$((B+2)) -rpc-addr=127.0.0.1:$((B+102)) >charlie.log 2>&1 & PC=$!
echo "$PA $PB $PC" > pids
sleep 2
serf join -rpc-addr=127.0.0.1:$((B+100)) 127.0.0.1:$((B+1)) 127.0.0.1:$((B+2))
sleep 1
serf event -rpc-addr=127.0.0.1:$((B+101)) deploy v1
serf event -rpc-addr=127.0.0.1:$((B+101)) deploy v2
serf query -rpc-addr=127.0.0.1:$((B+102)) -timeout=1s ping x
sleep 1.5
kill -INT $PC; wait $PC
sleep 2
kill -TERM $PA; wait $PA
kill -INT $PB; wait $PB
echo done
