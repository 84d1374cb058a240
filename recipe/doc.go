// Package recipe implements ZooKeeper's coordination recipes on package
// client: Lock, RWLock, Semaphore, Election, Barrier, DoubleBarrier, Queue,
// Counter, Registry (service registry) and TreeCache. Each type's doc
// comment states the guarantee it gives and what it costs.
//
// The package owns only the znode layouts of these recipes under the paths
// its callers choose. It must never keep a session of its own (every recipe
// uses the *client.Conn it is given), never retry a failed request without a
// context bounding the retries, and never leave a goroutine running after
// the call or Close that owns it returns.
//
// Conventions shared by all recipes:
//
//   - Every blocking call takes a context and returns its error when it ends.
//   - Parent nodes are created as needed (persistent, with the ACL given to
//     the recipe, proto.OpenACLUnsafe when nil).
//   - Sequential nodes carry a random tag in their name ("lock-<tag>-0000000007")
//     so that a create whose reply was lost with the connection can be found
//     again instead of leaving an orphan that would block everybody (the
//     "protected" nodes of Curator).
//   - Session loss: a recipe whose guarantee rests on an ephemeral node
//     (Lock, RWLock, Semaphore, Election, Registry) reports, through a channel
//     or context, that the guarantee may be gone as soon as the connection
//     drops, not only when the session expires: a disconnected client cannot
//     know whether the server has already expired its session.
package recipe
