#!/usr/bin/env bats
# The multi-host harness itself (tests/netns-helper.bash): hosts as network
# namespaces on one bridge reach each other and nothing else, cuts and
# one-way blocks do what they say and are undone, cleanup leaves nothing
# behind, and a 3-member etcd cluster on three hosts survives the loss of
# its leader, killed or stopped.

load helper
load tcp-helper
load netns-helper
bats_require_minimum_version 1.5.0

# listen HOST PORT: a TCP server on HOST:PORT that takes any number of
# connections, ready when the function returns.
listen() {
	ns_process "listen-$1-$2" "$1" socat -u "TCP-LISTEN:$2,fork,reuseaddr" OPEN:/dev/null
	eventually ns_tcp_open "$1" 127.0.0.1 "$2"
}

# udp_listen HOST PORT: whatever HOST receives on UDP PORT, in HOST.udp.
udp_listen() {
	: >"$BATS_TEST_TMPDIR/$1.udp"
	ns_process "udp-$1" "$1" socat -u "UDP-RECV:$2" \
	    "OPEN:$BATS_TEST_TMPDIR/$1.udp,append"
	# Ready once it has its port (no readiness signal of its own).
	udp_bound() { ns_run "$1" ss -Hunl "sport = :$2" | grep -q .; }
	eventually udp_bound "$1" "$2"
}

# udp_send FROM TO PORT TEXT: one datagram.
udp_send() {
	echo "$4" | ns_run "$1" socat -u - "UDP-SENDTO:$(ns_ip "$2"):$3"
}

@test "netns: hosts have their own addresses, loopback, no default route, and reach each other over TCP" {
	ns_hosts a b c
	assert_equal "$(ns_ip a) $(ns_ip b) $(ns_ip c)" "10.213.0.1 10.213.0.2 10.213.0.3"
	run ns_run a ip -4 -o addr show dev eth0
	assert_output --partial "inet 10.213.0.1/24"
	# One route: the subnet; no default, so nothing can leave.
	run ns_run b ip route show
	assert_equal "${#lines[@]}" 1
	assert_output --regexp "^10\.213\.0\.0/24 dev eth0 .*src 10\.213\.0\.2 ?$"
	run ns_run b ip -6 route show default
	assert_output ""
	listen b 9000
	listen c 9000
	ns_tcp_open a 10.213.0.2 9000
	ns_tcp_open a 10.213.0.3 9000
	ns_tcp_open c 10.213.0.2 9000
	# A host's loopback is its own: b's server is not on a's 127.0.0.1.
	run ! ns_tcp_open a 127.0.0.1 9000
	# The namespaces are this test's, named after the run and the test.
	assert_equal "$(ns_namespaces | sort | tr '\n' ' ')" \
	    "$NS_PREFIX-bridge $NS_PREFIX-h-a $NS_PREFIX-h-b $NS_PREFIX-h-c "
}

@test "netns: nothing reaches an address outside the subnet, nor the machine's own namespace" {
	ns_hosts a b
	run ! ns_run a socat -u /dev/null TCP:10.214.0.1:80,connect-timeout=2
	assert_output --partial "Network is unreachable"
	run ! ns_run a socat -u /dev/null TCP:192.0.2.1:80,connect-timeout=2
	assert_output --partial "Network is unreachable"
	run ! ns_run a socat -u - UDP-SENDTO:192.0.2.1:53 <<<x
	# The machine's own loopback is not the host's: a server there is
	# unseen from inside, and the host's own loopback works.
	port=$(free_port)
	start_process outside socat -u "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr" OPEN:/dev/null
	eventually port_open "$port"
	run ! ns_tcp_open a 127.0.0.1 "$port"
	ns_process inside a socat -u "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr" OPEN:/dev/null
	eventually ns_tcp_open a 127.0.0.1 "$port"
	# The machine's own addresses, if it has any beyond loopback.
	for ip in $(ip -4 -o addr show scope global | awk '{ print $4 }' | cut -d/ -f1); do
		case $ip in 10.213.0.*) fail "the machine itself has $ip, in the test subnet" ;; esac
		run ! ns_tcp_open a "$ip" 22
	done
}

@test "netns: a cut host is unreachable both ways, and reachable again after heal" {
	ns_hosts a b c
	listen a 9000
	listen b 9000
	ns_tcp_open a "$(ns_ip b)" 9000
	ns_cut b
	run ! ns_tcp_open a "$(ns_ip b)" 9000
	run ! ns_tcp_open b "$(ns_ip a)" 9000
	# The others are not affected, and b still reaches itself.
	listen c 9000
	ns_tcp_open a "$(ns_ip c)" 9000
	ns_tcp_open b "$(ns_ip b)" 9000
	ns_tcp_open b 127.0.0.1 9000
	ns_heal b
	# (Right after a link comes up, a connect may fail for a moment.)
	eventually ns_tcp_open a "$(ns_ip b)" 9000
	eventually ns_tcp_open b "$(ns_ip a)" 9000
	# Cutting twice, or healing a healed host, is harmless.
	ns_heal b
	ns_cut c
	ns_cut c
	run ! ns_tcp_open a "$(ns_ip c)" 9000
	ns_heal c
	eventually ns_tcp_open a "$(ns_ip c)" 9000
}

@test "netns: a one-way block drops what A sends to B and nothing else" {
	ns_hosts a b c
	udp_listen a 9001
	udp_listen b 9001
	ns_block a b
	# a to b fails at a (a blackhole route); c to b still arrives.
	run ! udp_send a b 9001 from-a
	udp_send c b 9001 from-c
	eventually grep -qx from-c b.udp
	# b to a arrives.
	udp_send b a 9001 from-b
	eventually grep -qx from-b a.udp
	assert_equal "$(cat b.udp)" from-c
	# TCP needs both ways: neither direction connects.
	listen a 9000
	listen b 9000
	run ! ns_tcp_open a "$(ns_ip b)" 9000
	run ! ns_tcp_open b "$(ns_ip a)" 9000
	ns_tcp_open c "$(ns_ip b)" 9000
	ns_unblock a b
	udp_send a b 9001 from-a-again
	eventually grep -qx from-a-again b.udp
	eventually ns_tcp_open a "$(ns_ip b)" 9000
	eventually ns_tcp_open b "$(ns_ip a)" 9000
}

@test "netns: cleanup kills every process in the namespaces, stopped ones too, and deletes them; twice is harmless" {
	ns_hosts a b
	marker="hakit-netns-$$-$RANDOM"
	listen a 9000
	# Each marked shell waits on a sleep, in the namespace too.
	ns_process sleeper b sh -c "sleep 1000; : $marker"
	# Grandchildren that left their parent, and a stopped process.
	ns_run a bash -c "sh -c 'sleep 1001; : $marker' </dev/null >/dev/null 2>&1 & disown"
	ns_run b bash -c "setsid sh -c 'sleep 1002; : $marker' </dev/null >/dev/null 2>&1 &"
	ns_process stopped a sh -c "sleep 1003; : $marker"
	eventually pgrep -f "sleep 1003; : $marker" >/dev/null
	kill -STOP "$(daemon_pid stopped)"
	eventually test "$(pgrep -fc "$marker")" -eq 4
	sleeps() { pgrep -x sleep --ns "$(daemon_pid sleeper)" --nslist net; }
	eventually test "$(sleeps | wc -l)" -eq 2
	pids="$(ns_pids | sort -n | tr '\n' ' ')"
	for p in $(daemon_pid listen-a-9000) $(daemon_pid sleeper) $(daemon_pid stopped); do
		[[ " $pids" == *" $p "* ]] || fail "$p is not among the namespaces' processes: $pids"
	done
	ns_cleanup
	run pgrep -f "$marker"
	assert_failure
	# (A killed shell's sleep is reparented, and may stay a zombie until
	# the machine's init reaps it: it runs nothing.)
	for p in $pids; do
		process_ended "$p" || fail "process $p is still there: $(ps -o stat=,args= -p "$p")"
	done
	assert_equal "$(ns_namespaces)" ""
	run ip netns list
	refute_output --partial "$NS_PREFIX-"
	# Nothing was ever in the machine's own namespace either.
	run ip -o link show
	refute_output --regexp "v-(a|b)[@:]"
	ns_cleanup
	assert_equal "$(ns_namespaces)" ""
	# And a new set of hosts can be made afterwards in the same test.
	ns_hosts x
	assert_equal "$(ns_namespaces | sort | tr '\n' ' ')" "$NS_PREFIX-bridge $NS_PREFIX-h-x "
}

@test "netns: a host name that is too long or already taken is refused" {
	ns_hosts a
	run ns_hosts a
	assert_failure
	assert_output --partial "host a exists already"
	run ns_hosts averylonghostname
	assert_failure
	assert_output --partial "bad host name"
}

@test "etcd: a single member on one host serves put and get" {
	ns_hosts e1
	etcd_start e1
	assert_equal "$(etcd_endpoints)" "10.213.0.1:2379"
	run etcdctl_on e1 put k v1
	assert_success
	assert_output OK
	run etcdctl_on e1 get --print-value-only k
	assert_output v1
	assert_equal "$(etcd_leader)" e1
}

# put_get HOST... : through the members on HOSTs (run on the first), put a
# fresh value and read it back.
put_get() {
	local h=$1 eps= x v
	for x in "$@"; do eps+="${eps:+,}$(ns_ip "$x"):2379"; done
	v="v$RANDOM$RANDOM"
	ns_run "$h" etcdctl --endpoints "$eps" --dial-timeout 1s --command-timeout 2s put k "$v" >/dev/null 2>&1 &&
	    [ "$(ns_run "$h" etcdctl --endpoints "$eps" --dial-timeout 1s --command-timeout 2s get --print-value-only k 2>/dev/null)" = "$v" ] &&
	    echo "$v"
}

# new_leader OLD: a leader other than OLD is elected.
new_leader() {
	local l
	l=$(etcd_leader) && [ "$l" != "$1" ]
}

@test "etcd: a 3-member cluster on three hosts keeps serving after its leader is killed" {
	ns_hosts e1 e2 e3
	etcd_start e1 e2 e3
	assert_equal "$(etcd_endpoints)" "10.213.0.1:2379,10.213.0.2:2379,10.213.0.3:2379"
	run etcdctl_on e1 member list
	assert_equal "${#lines[@]}" 3
	eventually etcd_leader
	old=$(etcd_leader)
	run etcdctl_on e2 put k before
	assert_output OK
	etcd_kill "$old"
	survivors=()
	for h in e1 e2 e3; do [ "$h" = "$old" ] || survivors+=("$h"); done
	eventually new_leader "$old"
	new=$(etcd_leader)
	[[ " ${survivors[*]} " == *" $new "* ]]
	v=$(eventually put_get "${survivors[@]}")
	[ -n "$v" ]
	# The other survivor has it too, read locally.
	for h in "${survivors[@]}"; do
		assert_equal "$(ns_run "$h" etcdctl --endpoints 127.0.0.1:2379 get --consistency=s --print-value-only k)" "$v"
	done
	# The killed member is really gone: its port is closed.
	run ! ns_tcp_open "$old" 127.0.0.1 2379
}

@test "etcd: a 3-member cluster elects a new leader when its leader is stopped, and the old one rejoins" {
	ns_hosts e1 e2 e3
	etcd_start e1 e2 e3
	eventually etcd_leader
	old=$(etcd_leader)
	etcd_stop "$old"
	survivors=()
	for h in e1 e2 e3; do [ "$h" = "$old" ] || survivors+=("$h"); done
	# The stopped member still accepts connections (the kernel does) but
	# answers nothing; the others elect a leader among themselves.
	eventually new_leader "$old"
	run ! ns_run "$old" etcdctl --endpoints 127.0.0.1:2379 --command-timeout 1s endpoint status
	v=$(eventually put_get "${survivors[@]}")
	[ -n "$v" ]
	etcd_cont "$old"
	# It steps down, catches up and serves again, through any member.
	eventually etcd_healthy "$old"
	caught_up() {
		[ "$(ns_run "$old" etcdctl --endpoints 127.0.0.1:2379 get --consistency=s --print-value-only k)" = "$v" ]
	}
	eventually caught_up
	eventually etcd_leader
	v2=$(eventually put_get "$old")
	[ -n "$v2" ]
}
