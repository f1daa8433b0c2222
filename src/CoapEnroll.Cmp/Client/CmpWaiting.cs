namespace CoapEnroll.Cmp;

/// <summary>
/// A server's "not yet": how long until the next pollReq, and why (pollRep reason or the waiting status text); or, with
/// <paramref name="Resend"/>, how long until the same request is sent again after the server answered "busy" without acting on it.
/// </summary>
/// <param name="CheckAfter">The delay before polling, or sending again.</param>
/// <param name="Reason">The server's text, possibly empty.</param>
/// <param name="Resend">True for a busy answer (CoAP 5.03/4.29, HTTP 503/429) and the same request resent; false for CMP polling.</param>
public sealed record CmpWaiting(TimeSpan CheckAfter, string Reason, bool Resend = false);
