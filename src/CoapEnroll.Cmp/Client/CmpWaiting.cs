namespace CoapEnroll.Cmp;

/// <summary>A server's "not yet": how long until the next pollReq, and why (pollRep reason or the waiting status text).</summary>
/// <param name="CheckAfter">The delay before polling again.</param>
/// <param name="Reason">The server's text, possibly empty.</param>
public sealed record CmpWaiting(TimeSpan CheckAfter, string Reason);
