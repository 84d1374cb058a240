package fourlw

// lastOps are the names ZooKeeper's FinalRequestProcessor records as a
// connection's last operation (cons "lop="), by opcode. Several opcodes
// share a name (every create is CREA; getChildren and getChildren2 are
// GETC) and whoAmI really is "HOMI".
var lastOps = map[int32]string{
	-11: "CLOS",   // closeSession
	-10: "SESS",   // createSession
	1:   "CREA",   // create
	2:   "DELE",   // delete
	3:   "EXIS",   // exists
	4:   "GETD",   // getData
	5:   "SETD",   // setData
	6:   "GETA",   // getACL
	7:   "SETA",   // setACL
	8:   "GETC",   // getChildren
	9:   "SYNC",   // sync
	11:  "PING",   // ping
	12:  "GETC",   // getChildren2
	13:  "CHEC",   // check
	14:  "MULT",   // multi
	15:  "CREA",   // create2
	16:  "RECO",   // reconfig
	17:  "CHKW",   // checkWatches
	18:  "REMW",   // removeWatches
	19:  "CREA",   // createContainer
	20:  "DELE",   // deleteContainer
	21:  "CREA",   // createTTL
	22:  "MLTR",   // multiRead
	101: "SETW",   // setWatches
	103: "GETE",   // getEphemerals
	104: "GETACN", // getAllChildrenNumber
	105: "STW2",   // setWatches2
	106: "ADDW",   // addWatch
	107: "HOMI",   // whoAmI
}

// LastOpName is the name cons shows for a connection whose last answered
// request had opcode op. ZooKeeper leaves the previous name in place for
// opcodes it does not name (auth, sasl), so for those the result is "" and
// the server should keep the name it had; a new connection starts at "NA".
func LastOpName(op int32) string {
	return lastOps[op]
}
