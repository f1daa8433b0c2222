namespace CoapEnroll.Coap;

/// <summary>
/// Decides whether a request may be served before its body is received: from its method, options and peer (the secure
/// session, <see cref="CoapRequestContext.SecureSession"/>). Returns null to let the request through, or the response that
/// refuses it. The block-wise layer calls it on the first block of a Block1 transfer, so that a request that cannot succeed
/// is refused before any of its body is held, and on every other request before the handler runs; the request's payload
/// is then at most its first block.
/// </summary>
/// <remarks>
/// Anything the decision established (who the peer is) may be left in <see cref="CoapRequestContext.Items"/> for the handler:
/// the handler of a request that came in one message, or whose body was its first block, sees the same items. The handler
/// of a longer Block1 transfer runs with the context of the transfer's last block, which this delegate did not see.
/// </remarks>
public delegate ValueTask<CoapMessage?> CoapAuthorizationDelegate(CoapRequestContext context, CancellationToken cancellationToken);
