/*
 * A model of hakit's two-phase commit as implemented: 2pc-coord
 * (src/2pc-coord.c) and 2pc-part (src/2pc-part.c) with their log records,
 * crashes and restarts at any step, a network that loses, duplicates and
 * reorders, client retries, txid reuse and cooperative termination.
 * `make model` checks it (tests/model/run).  States, records and messages
 * are named as in the C code; comments name the C functions.
 *
 * Configurations (one txid, t1, everywhere):
 *   CONF_A   one coordinator X, participants a b c.  Submission s0 is
 *            "t1 a=.. b=.." (made 1 + RETRIES times: the retries have its
 *            digest); s1 is "t1 c=..", made once: the same txid with
 *            another participant set and digest.
 *   CONF_B   two coordinators X and Y (distinct CIDs), both using t1 and
 *            sharing participant b: s0 is X's "t1 a=.. b=..", s1 is Y's
 *            "t1 b=..", each made 1 + RETRIES times.  With B3 there is a
 *            third participant and s1 is Y's "t1 b=.. c=..".
 * Broken variants, each taking one fix out:
 *   NO_BEGIN_RECORD  no B record: a txid still voting when the coordinator
 *            dies is in no record; and answer_query answers by txid alone,
 *            without checking that the asker is a participant (finding 1).
 *   NO_CID   STATUS and STATE carry no CID and a participant keys its
 *            transactions by txid alone (finding 2).
 *   NO_DECIDING  decide_commit marks the transaction committing before its
 *            C record is durable, so a QUERY learns commit too early (the
 *            old code's decide_commit; finding 6).
 *
 * Bounds (macros; tests/model/run says which it uses): each coordinator
 * crashes at most MAXCC times (default 1), each participant at most MAXPC
 * times (default 1), all processes together at most MAXCRASH times
 * (default unbounded); RETRIES (default 1) as above.  A crash keeps what is
 * durable and loses the rest, or (a SIGKILL after a write) keeps what was
 * appended too; a restart follows at once: a process that stays down is,
 * to the others, one whose messages are lost, and an in-doubt participant
 * may turn to its peers at any time, which covers a coordinator that is
 * down or stopped.  The network is not bounded at all (see "Network").
 *
 * Properties, each an assertion on a boolean of that name:
 *   TCConsistent  no participant reaches S_COMMITTED for a transaction that
 *            a participant (itself included, before a crash) reached
 *            S_ABORTED for or refused with a no vote; no client is told
 *            commit for a transaction a participant aborted.
 *   YesNotWithdrawn  a participant that reached S_PREPARED (voted yes)
 *            moves to S_ABORTED only on an ABORT from the transaction's
 *            coordinator or a STATE aborted from a peer it asked, and only
 *            if the coordinator never made a commit decision (C durable).
 *   TrueOutcome  a client (a retry included) told abort means no
 *            participant ever commits it, and no client is told both.
 *   TxidOnce  a coordinator sends PREPAREs for one submission per txid,
 *            across its crashes.
 * A transaction in these properties is a submission (coordinator, txid,
 * participants, payloads): what the hooks act on.  TxidOnce makes it the
 * same as (CID, TXID).  The broken variants are checked for TCConsistent
 * alone (TC_ONLY): without a fix the others may fail first, on paths that
 * show less of the finding.
 *
 * Not modelled: the N record (a CID is fixed: a coordinator that lost its
 * log is a new coordinator, with no transactions), the D record and hook
 * re-runs (they repeat an outcome already decided), H heuristic records (an
 * operator's override is outside TCConsistent by definition), RECOVER (it
 * only makes in-doubt participants QUERY, which they may do at any time
 * here), and replies that change nothing at the receiver: PENDING,
 * `indoubt`, UNKNOWN.  A transaction whose prepare hook is not given
 * (no I record) behaves as one whose I record a crash lost.
 */

/* ---- configuration ---- */

#ifdef CONF_B
#define NC	2		/* coordinators X, Y */
#define SC(s)	(s)		/* s belongs to coordinator s */
#ifdef B3
#define NP	3		/* participants a, b, c */
#define SP(s)	((s) == 0 -> 3 : 6)	/* s0: {a,b}; s1: {b,c} */
#else
#define NP	2		/* participants a, b */
#define SP(s)	((s) == 0 -> 3 : 2)	/* s0: {a,b}; s1: {b} */
#endif
#define LEFT1	(1 + RETRIES)
#else
#define NC	1
#define NP	3		/* participants a, b, c */
#define SC(s)	0
#define SP(s)	((s) == 0 -> 3 : 4)	/* s0: {a,b}; s1: {c} */
#define LEFT1	1
#endif
#define NS	2		/* submissions s0, s1 */

#ifdef NO_CID
#define NK	1		/* a participant keys by txid alone */
#define KEY(c)	0
#else
#define NK	NC		/* keyed by (CID, TXID) */
#define KEY(c)	(c)
#endif

#ifndef MAXCC
#define MAXCC	1
#endif
#ifndef MAXPC
#define MAXPC	1
#endif
#ifndef RETRIES
#define RETRIES	1
#endif
#ifndef MAXCRASH
#define MAXCRASH 255	/* crashes in a run, all processes together */
#endif

#define BIT(i)		(1 << (i))
#define HAS(m, i)	((((m) >> (i)) & 1) == 1)
#define PK(p, k)	((p) * NK + (k))	/* a participant's key */
#define NAME(p)		(97 + (p))		/* 'a', 'b', 'c' */
#define CNAME(c)	(88 + (c))		/* 'X', 'Y' */

/* Log records: absent, appended (volatile), durable, appended forced. */
#define R_NONE	0
#define R_PEND	1
#define R_DUR	2
#define R_PENDF	3	/* only for the participant's A (on_status) */

/* ---- coordinator (2pc-coord.c) ---- */

/* enum cstate, plus the two outcomes a transaction ends in. */
#define NOTX		0	/* txid not in `known` */
#define C_VOTING	1	/* B appended; PREPAREs once B is durable */
#define C_DECIDING	2	/* all voted yes, C appended, not durable */
#define C_COMMITTING	3	/* C durable: COMMIT sent until ACKed */
#define C_ENDED		4	/* every ACK in: E appended */
#define C_ABORTED	5	/* A appended */

byte cst[NC];		/* t1's ctx->st, or its outcome */
byte cs[NC];		/* the submission (DIGEST, PARTS) t1 names */
bool cbegun[NC];	/* B durable, PREPAREs sent, vote timer running */
byte csent[NC];		/* cpart.sent, a mask of participants */
byte cvoted[NC];	/* cpart.voted */
byte cacked[NC];	/* cpart.acked */
bool cwait[NC];		/* a client waits for t1's outcome */
/* The log: B TXID DIGEST PARTS, C TXID PARTS, A TXID REASON, E TXID. */
byte lB[NC], lC[NC], lA[NC], lE[NC];
byte ls[NC];		/* the submission those records are about */
byte ccrash[NC];
byte subleft[NS];	/* submissions (and retries) still to come */

/* ---- participant (2pc-part.c) ---- */

/* enum state; NOTX: no struct ptx for the key. */
#define S_INTENT	1
#define S_PREPARED	2
#define S_COMMITTED	3
#define S_ABORTED	4
#define NOSUB		3

/*
 * What a struct ptx waits for while voting.  The prepare hook's exit status
 * is chosen when the PREPARE comes in (nothing observes it before the hook
 * ends), so intent_durable, the hook and prepare_hook_done are one step:
 * the window "I durable, hook running" behaves as "P appended, not durable"
 * (S_INTENT either way; a crash in it aborts on restart unless P survives).
 */
#define W_NONE		0
#define W_INTENT_OK	1	/* I appended; the hook will exit 0 */
#define W_INTENT_FAIL	2	/* I appended; the hook will fail */
#define W_PREP		3	/* P appended: prepared_durable */

byte pst[NP * NK];	/* ptx->st */
byte psub[NP * NK];	/* the PREPARE's submission (name, peers, payload) */
byte pwork[NP * NK];
bool pvoter[NP * NK];	/* ptx->voter: the PREPARE's connection is open */
bool packto[NP * NK];	/* ptx->ackto: a coordinator connection waits */
byte powe[NP * NK];	/* askers owed "STATE aborted" once A is durable */
/* The log: I and P (with the submission), C, A. */
byte lI[NP * NK], lP[NP * NK], lPC[NP * NK], lPA[NP * NK];
byte lsub[NP * NK];
byte pcrash[NP];
byte crashes;		/* every crash so far */

/*
 * ---- Network ----
 * A message is a bit in a mask (of receivers, or of senders for the
 * coordinator's inbox).  Once sent it stays until its receiver crashes, and
 * may be delivered any number of times, in any order with others, or never:
 * loss, duplication and reordering without bound.  A crash clears what was
 * in flight to the process (its connections die); what it sent earlier may
 * still be read, but a reply to it goes nowhere: such requests are kept as
 * orphans (the *o masks), processed with their side effects but no reply.
 */
/* PREPARE CID TXID NAME CSOCK PEERS PAYLOAD, by submission */
byte mPREP[NS], mPREPo[NS];
byte mVY[NC], mVN[NC];		/* VOTE CID TXID yes|no, by sender */
byte mACK[NC];			/* ACK CID TXID */
byte mQRY[NC];			/* QUERY CID TXID NAME */
byte mCOM[NC], mCOMo[NC];	/* COMMIT CID TXID (push or QUERY answer) */
byte mABT[NC];			/* ABORT CID TXID (push, QUERY answer) */
/* STATUS [CID] TXID, by [key * NP + asker], a mask of those asked */
byte mSTS[NK * NP], mSTSo[NK * NP];
byte mSTC[NK * NP], mSTA[NK * NP];	/* STATE .. committed|aborted,
					   [key*NP+answerer], mask of askers */

/* ---- ghosts: what really happened, for the properties ---- */

#define GC	1	/* committed */
#define GA	2	/* aborted or refused */
byte g[NP * NS];	/* [p*NS+s] */
byte gyes[NS];		/* participants that reached S_PREPARED for s */
bool decided[NS];	/* the coordinator's C record for s is durable */
byte told[NS];		/* outcome told to s's client: GC or GA */
byte gprep;		/* submissions PREPAREs were sent for */

#define BY_COORD	1	/* ABORT from the coordinator */
#define BY_PEER		2	/* STATE aborted from a peer */
#define BY_SELF		3	/* hook failed, on_status, restart */

hidden byte i, q, r, y, kk;
hidden byte wasB, wasC, wasI, wasP, wasPC, wasAF;
hidden byte TCConsistent, TrueOutcome, YesNotWithdrawn, TxidOnce;

/* With TC_ONLY (the broken variants) only TCConsistent is checked. */
#ifdef TC_ONLY
#define CHECK(prop)	skip
#else
#define CHECK(prop)	assert(prop)
#endif

/*
 * Witnesses (-DWITNESS=n): an assertion that fails when something the
 * properties depend on happens, so that `run` can show it is reachable
 * (the checks above are not vacuous):
 *   1 every participant of a submission commits it
 *   2 an in-doubt participant commits on a peer's STATE committed
 *   3 an in-doubt participant aborts on a peer's STATE aborted
 *   4 a retry is told commit
 *   5 a reused txid is refused ("abort txid already used")
 *   6 the shared participant b commits both X's t1 and Y's t1 (CONF_B)
 */
#ifdef WITNESS
hidden byte Witness;
#define SEEN(n, cond) \
	if :: WITNESS == n && (cond) -> Witness = 0; assert(Witness) :: else fi
#else
#define SEEN(n, cond)	skip
#endif

/* No participant has aborted (or refused) SS, nor any client told abort. */
inline g_commit(pp, ss)
{
	TCConsistent = 1;
	for (i : 0 .. NP - 1) {
		TCConsistent = TCConsistent && g[i * NS + ss] != GA
	}
	assert(TCConsistent);
	TrueOutcome = (told[ss] != GA);
	CHECK(TrueOutcome);
	g[pp * NS + ss] = GC;
	SEEN(1, (!HAS(SP(ss), 0) || g[0 * NS + ss] == GC) &&
	    (!HAS(SP(ss), 1) || g[1 * NS + ss] == GC) &&
	    (NP < 3 || !HAS(SP(ss), 2) || g[(NP - 1) * NS + ss] == GC));
	SEEN(6, NC > 1 && g[1 * NS + 0] == GC && g[1 * NS + 1] == GC)
}

/* PP aborts or refuses SS: nobody has committed it or been told commit. */
inline g_abort(pp, ss, cause)
{
	TCConsistent = (told[ss] != GC);
	for (i : 0 .. NP - 1) {
		TCConsistent = TCConsistent && g[i * NS + ss] != GC
	}
	assert(TCConsistent);
	YesNotWithdrawn = !HAS(gyes[ss], pp) ||
	    ((cause == BY_COORD || cause == BY_PEER) && !decided[ss]);
	CHECK(YesNotWithdrawn);
	g[pp * NS + ss] = GA
}

/* answer(): the outcome line a waiting client gets. */
inline tell(ss, o)
{
	TCConsistent = 1;
	TrueOutcome = (told[ss] == 0 || told[ss] == o);
	for (i : 0 .. NP - 1) {
		TCConsistent = TCConsistent &&
		    (o == GA || g[i * NS + ss] != GA);
		TrueOutcome = TrueOutcome &&
		    (o == GC || g[i * NS + ss] != GC)
	}
	assert(TCConsistent);
	CHECK(TrueOutcome);
	told[ss] = o
}

/*
 * tidy, after every step: drop messages their receiver is sure to ignore
 * (their delivery would change nothing), and forget state no longer used,
 * so that states differing only in such leftovers are one state.  A
 * receiver leaves the states concerned only by crashing, which clears its
 * messages anyway.
 */
inline tidy()
{
	printf("ACTION\n");	/* counted by run: the trail's length */
	for (i : 0 .. NC - 1) {
		if
		:: cst[i] != C_VOTING ->	/* part_line: VOTE ignored */
			mVY[i] = 0;
			mVN[i] = 0;
			csent[i] = 0;
			cvoted[i] = 0
		:: else
		fi;
		if
		:: cst[i] != C_COMMITTING ->	/* part_line: ACK ignored */
			mACK[i] = 0;
			cacked[i] = 0
		:: else
		fi
	}
	for (q : 0 .. NP * NK - 1) {		/* q is PK(p, k) */
		for (i : 0 .. NC - 1) {
			if
			:: KEY(i) == q % NK && (pst[q] == S_ABORTED ||
			    pst[q] == S_COMMITTED || (psub[q] != NOSUB &&
			    SC(psub[q]) != i)) ->
				/* abort_tx, or "another coordinator" */
				mABT[i] = mABT[i] & ~BIT(q / NK);
				mCOMo[i] = mCOMo[i] & ~BIT(q / NK);
				if
				:: pst[q] != S_COMMITTED ->
					mCOM[i] = mCOM[i] & ~BIT(q / NK)
				:: else
				fi
			:: else
			fi
		}
		if
		:: pst[q] == S_ABORTED || pst[q] == S_COMMITTED ->
			/* on_line STATE: only in S_PREPARED */
			for (r : 0 .. NP - 1) {
				mSTC[(q % NK) * NP + r] =
				    mSTC[(q % NK) * NP + r] & ~BIT(q / NK);
				mSTA[(q % NK) * NP + r] =
				    mSTA[(q % NK) * NP + r] & ~BIT(q / NK)
			}
		:: else
		fi;
		/* on_status with a voted or decided transaction records
		 * nothing: a STATUS whose answer nobody waits for is moot. */
		if
		:: pst[q] != NOTX && pst[q] != S_INTENT ->
			for (r : 0 .. NP - 1) {
				mSTSo[(q % NK) * NP + r] =
				    mSTSo[(q % NK) * NP + r] & ~BIT(q / NK);
				if
				:: pst[PK(r, q % NK)] != S_PREPARED ->
					mSTS[(q % NK) * NP + r] =
					    mSTS[(q % NK) * NP + r] &
					    ~BIT(q / NK)
				:: else
				fi
			}
		:: else
		fi;
		/* on_prepare for a known key: a no vote that nobody counts,
		 * for a submission already refused or the one prepared. */
		for (r : 0 .. NS - 1) {
			if
			:: KEY(SC(r)) == q % NK && pst[q] != NOTX &&
			    (psub[q] == r || g[(q / NK) * NS + r] == GA) ->
				mPREPo[r] = mPREPo[r] & ~BIT(q / NK);
				if
				:: cst[SC(r)] != C_VOTING ->
					mPREP[r] = mPREP[r] & ~BIT(q / NK)
				:: else
				fi
			:: else
			fi
		}
	}
}

/* ---- coordinator actions ---- */

/* start_tx, once B is durable (or at once without B): PREPARE to each. */
inline send_prepares(c)
{
	/* One (CID, TXID), one submission, ever. */
	TxidOnce = 1;
	for (i : 0 .. NS - 1) {
		TxidOnce = TxidOnce &&
		    (i == cs[c] || SC(i) != c || !HAS(gprep, i))
	}
	CHECK(TxidOnce);
	gprep = gprep | BIT(cs[c]);
	mPREP[cs[c]] = mPREP[cs[c]] | SP(cs[c]);
	csent[c] = SP(cs[c]);
	cbegun[c] = 1;
	printf("MSC: %c: PREPARE %c t1 (s%d) sent\n", CNAME(c), CNAME(c),
	    cs[c])
}

/* abort_ctx: lazy A, ABORT to those sent PREPARE, the client told abort. */
inline abort_ctx(c)
{
	lA[c] = R_PEND;
	cst[c] = C_ABORTED;
	mABT[c] = mABT[c] | csent[c];
	csent[c] = 0;
	cvoted[c] = 0;
	mVY[c] = 0;	/* votes from now on are ignored */
	mVN[c] = 0;
	if
	:: cwait[c] -> tell(cs[c], GA); cwait[c] = 0
	:: else
	fi;
	printf("MSC: %c: t1 aborted (A appended), ABORT sent\n", CNAME(c))
}

/* client_line "TX t1 ...": a new transaction, a retry, or a reused txid. */
inline client_tx(c, S)
{
	subleft[S]--;
	if
	:: cst[c] == NOTX ->
		cst[c] = C_VOTING;
		cs[c] = S;
		ls[c] = S;
		cwait[c] = 1;
		csent[c] = 0;
		cvoted[c] = 0;
		cacked[c] = 0;
		printf("MSC: %c: TX t1 (s%d) accepted\n", CNAME(c), S);
#ifdef NO_BEGIN_RECORD
		send_prepares(c)
#else
		lB[c] = R_PEND;		/* B TXID DIGEST PARTS, forced */
		cbegun[c] = 0
#endif
	:: cst[c] != NOTX && cs[c] == S ->	/* a retry: the outcome */
		printf("MSC: %c: TX t1 (s%d) is a retry\n", CNAME(c), S);
		if
		:: cst[c] == C_VOTING || cst[c] == C_DECIDING -> cwait[c] = 1
		:: cst[c] == C_COMMITTING || cst[c] == C_ENDED -> tell(S, GC);
			SEEN(4, 1)
		:: cst[c] == C_ABORTED -> tell(S, GA)
		fi
	:: cst[c] != NOTX && cs[c] != S ->
		/* Refused, the original untouched.  A refusal is no outcome
		 * of S: S did not run, and may run later if t1 is free again
		 * (its holder's B was lost in a crash before any PREPARE). */
		printf("MSC: %c: TX t1 (s%d): abort txid already used\n",
		    CNAME(c), S);
		SEEN(5, 1)
	fi
}

/* A sync of the coordinator's log (group commit), then the callbacks. */
inline sync_coord(c)
{
	wasB = (lB[c] == R_PEND);
	wasC = (lC[c] == R_PEND);
	printf("MSC: %c: log synced\n", CNAME(c));
	lB[c] = (lB[c] == R_PEND -> R_DUR : lB[c]);
	lC[c] = (lC[c] == R_PEND -> R_DUR : lC[c]);
	lA[c] = (lA[c] == R_PEND -> R_DUR : lA[c]);
	lE[c] = (lE[c] == R_PEND -> R_DUR : lE[c]);
	if
	:: wasC -> decided[ls[c]] = 1
	:: else
	fi;
	if
	:: wasB && cst[c] == C_VOTING && !cbegun[c] ->
		printf("MSC: %c: B t1 durable\n", CNAME(c));
		send_prepares(c)
	:: else
	fi;
	if
	:: wasC && cst[c] == C_DECIDING ->	/* decided() */
		cst[c] = C_COMMITTING;
		mCOM[c] = mCOM[c] | (SP(cs[c]) & ~cacked[c]);
		printf("MSC: %c: C t1 durable, COMMIT sent\n", CNAME(c));
		if
		:: cwait[c] -> tell(cs[c], GC); cwait[c] = 0
		:: else
		fi
	:: else
	fi
}

/* part_line VOTE yes (every yes vote present, in any order: they commute). */
inline on_vote_yes(c)
{
	cvoted[c] = cvoted[c] | (mVY[c] & SP(cs[c]));
	if
	:: cvoted[c] == SP(cs[c]) ->		/* decide_commit */
		lC[c] = R_PEND;
		csent[c] = 0;
		cvoted[c] = 0;
		mVY[c] = 0;	/* votes from now on are ignored */
		mVN[c] = 0;
#ifdef NO_DECIDING
		cst[c] = C_COMMITTING;	/* a QUERY now learns commit */
#else
		cst[c] = C_DECIDING;
#endif
		printf("MSC: %c: all voted yes, C t1 appended\n", CNAME(c))
	:: else
	fi
}

/* answer_query for every QUERY in: COMMIT, ABORT, or nothing (PENDING). */
#ifdef NO_BEGIN_RECORD
#define QCOMMIT(c)	((cst[c] == C_COMMITTING || cst[c] == C_ENDED) -> \
			    mQRY[c] : 0)
#else
#define QCOMMIT(c)	((cst[c] == C_COMMITTING || cst[c] == C_ENDED) -> \
			    (mQRY[c] & SP(cs[c])) : 0)
#endif
#define QABORT(c)	((cst[c] == C_VOTING || cst[c] == C_DECIDING) -> \
			    0 : (mQRY[c] & ~QCOMMIT(c)))

inline crash_coord(c, keep)
{
	ccrash[c]++;
	crashes++;
	printf("MSC: %c: CRASH and restart (pending records kept: %d)\n",
	    CNAME(c), keep);
	if
	:: keep ->
		if :: lC[c] == R_PEND -> decided[ls[c]] = 1 :: else fi;
		lB[c] = (lB[c] == R_PEND -> R_DUR : lB[c]);
		lC[c] = (lC[c] == R_PEND -> R_DUR : lC[c]);
		lA[c] = (lA[c] == R_PEND -> R_DUR : lA[c]);
		lE[c] = (lE[c] == R_PEND -> R_DUR : lE[c])
	:: else ->
		lB[c] = (lB[c] == R_PEND -> R_NONE : lB[c]);
		lC[c] = (lC[c] == R_PEND -> R_NONE : lC[c]);
		lA[c] = (lA[c] == R_PEND -> R_NONE : lA[c]);
		lE[c] = (lE[c] == R_PEND -> R_NONE : lE[c])
	fi;
	/* Its connections die: inbox gone, replies to its requests lost. */
	mVY[c] = 0;
	mVN[c] = 0;
	mACK[c] = 0;
	mQRY[c] = 0;
	mCOMo[c] = mCOMo[c] | mCOM[c];
	mCOM[c] = 0;
	for (i : 0 .. NS - 1) {
		if
		:: SC(i) == c ->
			mPREPo[i] = mPREPo[i] | mPREP[i];
			mPREP[i] = 0
		:: else
		fi
	}
	for (i : 0 .. NP * NK - 1) {
		if
		:: psub[i] != NOSUB && SC(psub[i]) == c ->
			pvoter[i] = 0;
			packto[i] = 0
		:: else
		fi
	}
	cbegun[c] = 0;
	csent[c] = 0;
	cvoted[c] = 0;
	cacked[c] = 0;
	cwait[c] = 0;
	/* replay, then recovery: C without E is resent, the rest aborted. */
	cs[c] = ls[c];
	if
	:: lC[c] == R_DUR && lE[c] == R_DUR -> cst[c] = C_ENDED
	:: lC[c] == R_DUR && lE[c] != R_DUR -> cst[c] = C_COMMITTING
	:: lC[c] != R_DUR && lA[c] == R_DUR -> cst[c] = C_ABORTED
	:: lC[c] != R_DUR && lA[c] != R_DUR && lB[c] == R_DUR ->
		cst[c] = C_ABORTED;		/* B alone: presumed abort */
		lA[c] = R_PEND
	:: else -> cst[c] = NOTX;
		cs[c] = 0;
		ls[c] = 0
	fi;
	printf("MSC: %c: restarted, t1 state %d\n", CNAME(c), cst[c])
}

#define SUBMIT(c, S) \
	:: d_step { SC(S) == c && subleft[S] > 0 -> client_tx(c, S); skip }

proctype coord(byte c)
{
end:	do
	:: atomic {
		if
		SUBMIT(c, 0)
		SUBMIT(c, 1)
		/* log_flush: a sync covering every record appended so far. */
		:: d_step {
			lB[c] == R_PEND || lC[c] == R_PEND ->
				sync_coord(c); skip
		   }
		:: d_step {
			cst[c] == C_VOTING && cbegun[c] &&
			    (mVY[c] & SP(cs[c]) & ~cvoted[c]) != 0 ->
				printf("MSC: %c: VOTE yes in\n", CNAME(c));
				on_vote_yes(c); skip
		   }
		:: d_step {
			cst[c] == C_VOTING && cbegun[c] &&
			    (mVN[c] & SP(cs[c]) & ~cvoted[c]) != 0 ->
				printf("MSC: %c: VOTE no in\n", CNAME(c));
				abort_ctx(c); skip
		   }
		/* vote_timeout, or part_close of one that has not voted. */
		:: d_step {
			cst[c] == C_VOTING && cbegun[c] ->
				printf("MSC: %c: vote timeout\n", CNAME(c));
				abort_ctx(c); skip
		   }
		/* acked: E once every participant has acknowledged. */
		:: d_step {
			cst[c] == C_COMMITTING &&
			    (mACK[c] & SP(cs[c]) & ~cacked[c]) != 0 ->
				printf("MSC: %c: ACK in\n", CNAME(c));
				cacked[c] = cacked[c] | (mACK[c] & SP(cs[c]));
				if
				:: cacked[c] == SP(cs[c]) ->
					lE[c] = R_PEND;
					cst[c] = C_ENDED;
					cacked[c] = 0;
					mACK[c] = 0;
					printf("MSC: %c: all ACKed, E\n",
					    CNAME(c))
				:: else
				fi; skip
		   }
		:: d_step {
			(QCOMMIT(c) & ~mCOM[c]) != 0 ||
			    (QABORT(c) & ~mABT[c]) != 0 ->
				printf("MSC: %c: answer_query: COMMIT to %d, ABORT to %d\n",
				    CNAME(c), QCOMMIT(c) & ~mCOM[c],
				    QABORT(c) & ~mABT[c]);
				mCOM[c] = mCOM[c] | QCOMMIT(c);
				mABT[c] = mABT[c] | QABORT(c); skip
		   }
		/* housekeeping, part_conn: COMMIT resent until ACKed. */
		:: d_step {
			cst[c] == C_COMMITTING &&
			    (SP(cs[c]) & ~cacked[c] & ~mCOM[c]) != 0 ->
				printf("MSC: %c: COMMIT resent\n", CNAME(c));
				mCOM[c] = mCOM[c] | (SP(cs[c]) & ~cacked[c]);
				skip
		   }
		:: d_step {
			ccrash[c] < MAXCC && crashes < MAXCRASH ->
				crash_coord(c, 0); skip
		   }
		/*
		 * A crash that keeps what was appended but not synced (a
		 * SIGKILL after the write, before the fdatasync).  With a
		 * forced record pending this is a sync whose callbacks did not
		 * run, and reaches nothing that a sync followed by a crash
		 * does not (it only sends fewer messages), so it is taken only
		 * with lazy records alone.
		 */
		:: d_step {
			ccrash[c] < MAXCC && crashes < MAXCRASH &&
			    lB[c] != R_PEND && lC[c] != R_PEND &&
			    (lA[c] == R_PEND || lE[c] == R_PEND) ->
				crash_coord(c, 1); skip
		   }
		fi;
		d_step { tidy(); skip }	/* in the same step */
	   }
	od
}

/* ---- participant actions ---- */

/* vote_no / send_to(&tx->voter, "VOTE .. yes"): to the PREPARE's sender. */
inline vote(x, p, yes)
{
	/* (part_line ignores a VOTE unless C_VOTING; it is dropped here.) */
	if
	:: pvoter[x] && cst[SC(psub[x])] == C_VOTING && yes ->
		mVY[SC(psub[x])] = mVY[SC(psub[x])] | BIT(p)
	:: pvoter[x] && cst[SC(psub[x])] == C_VOTING && !yes ->
		mVN[SC(psub[x])] = mVN[SC(psub[x])] | BIT(p)
	:: else
	fi;
	pvoter[x] = 0
}

/*
 * ask: QUERY to the coordinator and STATUS to every other participant.
 * Both go at once: a message may be lost or delayed without bound, and a
 * request stays in the network to be answered again, so this covers asking
 * the coordinator first and the peers after a deadline, and asking again
 * (ask_all) later.  Sent on S_PREPARED (doubt_add) and on restart
 * (recover_one asks at once); again only if a crash lost the requests.
 */
inline ask(y, p, kk)
{
	mQRY[SC(psub[y])] = mQRY[SC(psub[y])] | BIT(p);
	mSTS[kk * NP + p] = mSTS[kk * NP + p] | (SP(psub[y]) & ~BIT(p))
}

/* The in-doubt transaction Y is decided: doubt_del.  Answers to QUERYs
 * still in the network would be ignored: drop the requests. */
inline doubt_del(y, p)
{
	mQRY[SC(psub[y])] = mQRY[SC(psub[y])] & ~BIT(p)
}

/* ack_commit: once C is durable (the commit action has run). */
inline ack_commit(x, p)
{
	if
	:: packto[x] && lPC[x] == R_DUR ->
		/* (acked() ignores an ACK unless C_COMMITTING: dropped.) */
		if
		:: cst[SC(psub[x])] == C_COMMITTING ->
			mACK[SC(psub[x])] = mACK[SC(psub[x])] | BIT(p)
		:: else
		fi;
		packto[x] = 0
	:: else
	fi
}

/* abort_tx (or the A of on_status / prepare_hook_done / recover_one). */
inline to_aborted(x, p, cause, forced)
{
	if
	:: psub[x] != NOSUB && (pst[x] == S_INTENT || pst[x] == S_PREPARED) ->
		g_abort(p, psub[x], cause)
	:: else
	fi;
	if :: pst[x] == S_PREPARED -> doubt_del(x, p) :: else fi;
	pst[x] = S_ABORTED;
	if
	:: forced -> lPA[x] = (lPA[x] == R_DUR -> R_DUR : R_PENDF)
	:: !forced && lPA[x] == R_NONE -> lPA[x] = R_PEND
	:: else
	fi
}

/* commit_tx from S_PREPARED: C appended (forced), ACK once durable. */
inline to_committed(x, p, ack)
{
	g_commit(p, psub[x]);
	doubt_del(x, p);
	pst[x] = S_COMMITTED;
	lPC[x] = R_PEND;
	packto[x] = ack
}

/* A sync of the participant's log, then the done callbacks. */
inline sync_part(p)
{
	for (kk : 0 .. NK - 1) {
		y = PK(p, kk);
		wasI = (lI[y] == R_PEND);
		wasP = (lP[y] == R_PEND);
		wasPC = (lPC[y] == R_PEND);
		wasAF = (lPA[y] == R_PENDF);
		lI[y] = (lI[y] == R_PEND -> R_DUR : lI[y]);
		lP[y] = (lP[y] == R_PEND -> R_DUR : lP[y]);
		lPC[y] = (lPC[y] == R_PEND -> R_DUR : lPC[y]);
		lPA[y] = (lPA[y] != R_NONE -> R_DUR : R_NONE);
		if	/* intent_durable, spawn_hook, prepare_hook_done */
		:: wasI && pst[y] == S_ABORTED &&
		    (pwork[y] == W_INTENT_OK || pwork[y] == W_INTENT_FAIL) ->
			printf("MSC: %c: I durable but S_ABORTED: VOTE no\n",
			    NAME(p));
			pwork[y] = W_NONE;
			vote(y, p, 0)
		:: wasI && pst[y] != S_ABORTED && pwork[y] == W_INTENT_OK ->
			printf("MSC: %c: I durable, hook exits 0, P appended\n",
			    NAME(p));
			lP[y] = R_PEND;		/* write_prepared */
			pwork[y] = W_PREP
		:: wasI && pst[y] != S_ABORTED && pwork[y] == W_INTENT_FAIL ->
			printf("MSC: %c: prepare hook failed\n", NAME(p));
			pwork[y] = W_NONE;
			to_aborted(y, p, BY_SELF, 0);
			vote(y, p, 0)
		:: else
		fi;
		if
		:: wasP && pwork[y] == W_PREP ->	/* prepared_durable */
			pwork[y] = W_NONE;
			if
			:: pst[y] == S_ABORTED ->
				printf("MSC: %c: P durable, aborted: VOTE no\n",
				    NAME(p));
				vote(y, p, 0)
			:: else ->
				pst[y] = S_PREPARED;	/* doubt_add */
				gyes[psub[y]] = gyes[psub[y]] | BIT(p);
				printf("MSC: %c: P durable: VOTE yes (sent %d), asks\n",
				    NAME(p), pvoter[y]);
				vote(y, p, 1);
				ask(y, p, kk)
			fi
		:: else
		fi;
		if
		:: wasPC ->			/* committed_durable */
			printf("MSC: %c: C durable, committed (ACK if owed)\n",
			    NAME(p));
			ack_commit(y, p)
		:: else
		fi;
		if
		:: wasAF ->	/* on_status's reply, once A is durable */
			printf("MSC: %c: A durable, STATE aborted to mask %d\n",
			    NAME(p), powe[y]);
			mSTA[kk * NP + p] = mSTA[kk * NP + p] | powe[y];
			powe[y] = 0
		:: else
		fi
	}
}

/* on_prepare, for PREPARE s from a connection that is open (live) or not. */
inline on_prepare(p, S, live, hookok)
{
	if
	:: pst[x] != NOTX ->	/* "duplicate txid" / "already decided" */
		if
		:: live -> mVN[SC(S)] = mVN[SC(S)] | BIT(p)
		:: else
		fi;
		if
		:: psub[x] != S ->	/* refused: it never commits here */
			printf("MSC: %c: PREPARE s%d, key known: VOTE no\n",
			    NAME(p), S);
			g_abort(p, S, BY_SELF)
		:: else ->
			printf("MSC: %c: PREPARE s%d again: VOTE no\n",
			    NAME(p), S)
		fi
	:: else ->
		printf("MSC: %c: PREPARE %c t1 (s%d): I appended\n", NAME(p),
		    CNAME(SC(S)), S);
		pst[x] = S_INTENT;
		psub[x] = S;
		lsub[x] = S;
		lI[x] = R_PEND;
		pwork[x] = (hookok -> W_INTENT_OK : W_INTENT_FAIL);
		pvoter[x] = live
	fi
}

/* on_line COMMIT from coordinator C (a push, a resend or a QUERY answer). */
inline on_commit(p, C, live)
{
	if
	:: psub[x] != NOSUB && SC(psub[x]) != C ->	/* another's */
		printf("MSC: %c: COMMIT from %c: another coordinator's\n",
		    NAME(p), CNAME(C))
	:: else -> if
		:: pst[x] == S_PREPARED ->
			printf("MSC: %c: COMMIT from %c: S_COMMITTED, C\n",
			    NAME(p), CNAME(C));
			to_committed(x, p, live)
		:: pst[x] == S_COMMITTED && live ->	/* set_ackto */
			printf("MSC: %c: COMMIT from %c again: ACK\n",
			    NAME(p), CNAME(C));
			packto[x] = 1;
			ack_commit(x, p)
		:: else ->	/* "COMMIT for a transaction not prepared" */
			printf("MSC: %c: COMMIT from %c ignored\n", NAME(p),
			    CNAME(C))
		fi
	fi
}

/* on_line ABORT from coordinator C. */
inline on_abort(p, C)
{
	if
	:: pst[x] == NOTX ->	/* tx_new, A lazy */
		printf("MSC: %c: ABORT from %c, unknown: A appended\n",
		    NAME(p), CNAME(C));
		pst[x] = S_ABORTED;
		lPA[x] = R_PEND
	:: psub[x] != NOSUB && SC(psub[x]) != C ->	/* another's */
		printf("MSC: %c: ABORT from %c: another coordinator's\n",
		    NAME(p), CNAME(C))
	:: else -> if
		:: pst[x] == S_INTENT || pst[x] == S_PREPARED ->
			printf("MSC: %c: ABORT from %c: S_ABORTED\n", NAME(p),
			    CNAME(C));
			to_aborted(x, p, BY_COORD, 0)
		:: else ->
			printf("MSC: %c: ABORT from %c ignored\n", NAME(p),
			    CNAME(C))
		fi
	fi
}

/* on_status: STATUS about key K from peer Q (live: its connection open). */
inline on_status(p, K, Q, live)
{
	if
	:: pst[x] == NOTX || pst[x] == S_INTENT ->
		printf("MSC: %c: STATUS from %c, never prepared: A forced\n",
		    NAME(p), NAME(Q));
		to_aborted(x, p, BY_SELF, 1);
		if :: live -> powe[x] = powe[x] | BIT(Q) :: else fi
	:: pst[x] == S_COMMITTED && live ->
		printf("MSC: %c: STATUS from %c: STATE committed\n", NAME(p),
		    NAME(Q));
		mSTC[K * NP + p] = mSTC[K * NP + p] | BIT(Q)
	:: pst[x] == S_ABORTED && live ->
		printf("MSC: %c: STATUS from %c: STATE aborted\n", NAME(p),
		    NAME(Q));
		if	/* queued, written after the loop's log flush */
		:: lPA[x] == R_PENDF -> powe[x] = powe[x] | BIT(Q)
		:: else -> mSTA[K * NP + p] = mSTA[K * NP + p] | BIT(Q)
		fi
	:: else ->	/* S_PREPARED: indoubt (or no one to answer) */
		printf("MSC: %c: STATUS from %c: nothing to record\n",
		    NAME(p), NAME(Q))
	fi
}

inline crash_part(p, keep)
{
	pcrash[p]++;
	crashes++;
	printf("MSC: %c: CRASH and restart (pending records kept: %d)\n",
	    NAME(p), keep);
	/* Its connections die. */
	for (i : 0 .. NS - 1) {
		mPREP[i] = mPREP[i] & ~BIT(p);
		mPREPo[i] = mPREPo[i] & ~BIT(p)
	}
	for (i : 0 .. NC - 1) {
		mCOM[i] = mCOM[i] & ~BIT(p);
		mCOMo[i] = mCOMo[i] & ~BIT(p);
		mABT[i] = mABT[i] & ~BIT(p);
		mQRY[i] = mQRY[i] & ~BIT(p)
	}
	for (i : 0 .. NK * NP - 1) {
		mSTS[i] = mSTS[i] & ~BIT(p);
		mSTSo[i] = mSTSo[i] & ~BIT(p);
		mSTC[i] = mSTC[i] & ~BIT(p);
		mSTA[i] = mSTA[i] & ~BIT(p);
		powe[i] = powe[i] & ~BIT(p)
	}
	for (kk : 0 .. NK - 1) {
		mSTSo[kk * NP + p] = mSTSo[kk * NP + p] | mSTS[kk * NP + p];
		mSTS[kk * NP + p] = 0;
		y = PK(p, kk);
		if
		:: keep ->
			if :: lI[y] == R_PEND -> lI[y] = R_DUR :: else fi;
			if :: lP[y] == R_PEND -> lP[y] = R_DUR :: else fi;
			if :: lPC[y] == R_PEND -> lPC[y] = R_DUR :: else fi;
			if :: lPA[y] != R_NONE -> lPA[y] = R_DUR :: else fi
		:: else ->
			if :: lI[y] == R_PEND -> lI[y] = R_NONE :: else fi;
			if :: lP[y] == R_PEND -> lP[y] = R_NONE :: else fi;
			if :: lPC[y] == R_PEND -> lPC[y] = R_NONE :: else fi;
			if :: lPA[y] != R_DUR -> lPA[y] = R_NONE :: else fi
		fi;
		pwork[y] = W_NONE;
		pvoter[y] = 0;
		packto[y] = 0;
		powe[y] = 0;
		/* replay */
		psub[y] = (lI[y] == R_DUR || lP[y] == R_DUR -> lsub[y] : NOSUB);
		lsub[y] = psub[y];
		if
		:: lPC[y] == R_DUR -> pst[y] = S_COMMITTED
		:: lPC[y] != R_DUR && lPA[y] == R_DUR -> pst[y] = S_ABORTED
		:: lPC[y] != R_DUR && lPA[y] != R_DUR && lP[y] == R_DUR ->
			pst[y] = S_PREPARED;	/* recover_one: doubt */
			gyes[psub[y]] = gyes[psub[y]] | BIT(p);
			ask(y, p, kk)
		:: lPC[y] != R_DUR && lPA[y] != R_DUR && lP[y] != R_DUR &&
		    lI[y] == R_DUR ->
			pst[y] = S_INTENT;	/* recover_one: abort */
			to_aborted(y, p, BY_SELF, 0)
		:: else -> pst[y] = NOTX
		fi
	}
}

/* One participant's transaction key K: (X,t1), (Y,t1), or t1 (NO_CID). */
#define PREPARE_IN(S) \
	:: d_step { KEY(SC(S)) == k && HAS(mPREP[S], p) -> \
		on_prepare(p, S, 1, 1); skip } \
	:: d_step { KEY(SC(S)) == k && HAS(mPREPo[S], p) -> \
		on_prepare(p, S, 0, 1); skip } \
	:: d_step { KEY(SC(S)) == k && pst[x] == NOTX && HAS(mPREP[S], p) -> \
		on_prepare(p, S, 1, 0); skip } \
	:: d_step { KEY(SC(S)) == k && pst[x] == NOTX && HAS(mPREPo[S], p) -> \
		on_prepare(p, S, 0, 0); skip }
#define DECISION_IN(C) \
	:: d_step { KEY(C) == k && HAS(mCOM[C], p) -> \
		on_commit(p, C, 1); skip } \
	:: d_step { KEY(C) == k && HAS(mCOMo[C], p) -> \
		on_commit(p, C, 0); skip } \
	:: d_step { KEY(C) == k && HAS(mABT[C], p) -> on_abort(p, C); skip }
#define PEER_IN(Q) \
	:: d_step { Q != p && HAS(mSTS[k * NP + Q], p) -> \
		on_status(p, k, Q, 1); skip } \
	:: d_step { Q != p && HAS(mSTSo[k * NP + Q], p) -> \
		on_status(p, k, Q, 0); skip } \
	:: d_step { Q != p && pst[x] == S_PREPARED && \
	    HAS(mSTC[k * NP + Q], p) -> \
		printf("MSC: %c: STATE committed from %c: S_COMMITTED\n", \
		    NAME(p), NAME(Q)); \
		to_committed(x, p, 0); SEEN(2, 1); skip } \
	:: d_step { Q != p && pst[x] == S_PREPARED && \
	    HAS(mSTA[k * NP + Q], p) -> \
		printf("MSC: %c: STATE aborted from %c: S_ABORTED\n", \
		    NAME(p), NAME(Q)); \
		to_aborted(x, p, BY_PEER, 0); \
		SEEN(3, HAS(gyes[psub[x]], p)); skip }

proctype ptx(byte p; byte k)
{
	byte x = PK(p, k);

end:	do
	:: atomic {
		if
		PREPARE_IN(0)
		PREPARE_IN(1)
		DECISION_IN(0)
#if NC > 1
		DECISION_IN(1)
#endif
		PEER_IN(0)
		PEER_IN(1)
#if NP > 2
		PEER_IN(2)
#endif
		/* ask_all, once a crash has lost the QUERY or the STATUS. */
		:: d_step {
			pst[x] == S_PREPARED && (!HAS(mQRY[SC(psub[x])], p) ||
			    (SP(psub[x]) & ~BIT(p) & ~mSTS[k * NP + p]) != 0) ->
				printf("MSC: %c: in doubt: QUERY %c, STATUS\n",
				    NAME(p), CNAME(SC(psub[x])));
				ask(x, p, k); skip
		   }
		fi;
		d_step { tidy(); skip }	/* in the same step */
	   }
	od
}

#if NK > 1
#define PFORCED(p) (lI[PK(p, 0)] == R_PEND || lP[PK(p, 0)] == R_PEND || \
	lPC[PK(p, 0)] == R_PEND || lPA[PK(p, 0)] == R_PENDF || \
	lI[PK(p, 1)] == R_PEND || lP[PK(p, 1)] == R_PEND || \
	lPC[PK(p, 1)] == R_PEND || lPA[PK(p, 1)] == R_PENDF)
#else
#define PFORCED(p) (lI[PK(p, 0)] == R_PEND || lP[PK(p, 0)] == R_PEND || \
	lPC[PK(p, 0)] == R_PEND || lPA[PK(p, 0)] == R_PENDF)
#endif

proctype part(byte p)
{
end:	do
	:: atomic {
		if
		:: d_step { PFORCED(p) -> sync_part(p); skip }
		:: d_step {
			pcrash[p] < MAXPC && crashes < MAXCRASH ->
				crash_part(p, 0); skip
		   }
		/* Keeping what was appended, lazy records alone (see coord). */
		:: d_step {
			pcrash[p] < MAXPC && crashes < MAXCRASH &&
			    !PFORCED(p) && (lPA[PK(p, 0)] == R_PEND
#if NK > 1
			    || lPA[PK(p, 1)] == R_PEND
#endif
			    ) -> crash_part(p, 1); skip
		   }
		fi;
		d_step { tidy(); skip }	/* in the same step */
	   }
	od
}

init
{
	atomic {
		for (i : 0 .. NP * NK - 1) {
			psub[i] = NOSUB;
			lsub[i] = NOSUB
		}
		subleft[0] = 1 + RETRIES;
		subleft[1] = LEFT1;
		for (i : 0 .. NC - 1) {
			run coord(i)
		}
		for (i : 0 .. NP - 1) {
			run part(i);
			for (q : 0 .. NK - 1) {
				run ptx(i, q)
			}
		}
	}
}
