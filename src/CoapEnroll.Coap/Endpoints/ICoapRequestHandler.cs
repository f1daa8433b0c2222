namespace CoapEnroll.Coap;

/// <summary>
/// Produces the response to one request. The endpoint fills in type, message ID and token; the
/// handler sets code, options and payload. Layers (block-wise, observe, routing) are handlers that
/// wrap handlers.
/// </summary>
public interface ICoapRequestHandler
{
    ValueTask<CoapMessage> HandleAsync(CoapRequestContext context, CancellationToken cancellationToken);
}
