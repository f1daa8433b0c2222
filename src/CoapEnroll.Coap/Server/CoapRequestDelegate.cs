namespace CoapEnroll.Coap;

/// <summary>A request handler registered on a route; returns the response's code, options and payload.</summary>
public delegate ValueTask<CoapMessage> CoapRequestDelegate(CoapRequestContext context, CancellationToken cancellationToken);
