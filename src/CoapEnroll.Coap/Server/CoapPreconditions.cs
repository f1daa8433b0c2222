namespace CoapEnroll.Coap;

/// <summary>
/// The conditional request options of RFC 7252 §5.10.8 (If-Match) and §5.10.9 (If-None-Match), evaluated
/// by a resource handler against the state of its target resource before it changes it.
/// </summary>
public static class CoapPreconditions
{
    /// <summary>
    /// A 4.12 Precondition Failed response when a condition of <paramref name="request"/> is not fulfilled;
    /// null when the request may proceed. If-Match is fulfilled by an empty value when the resource exists,
    /// or by a value equal to its current ETag (<paramref name="currentETag"/>; a resource without one
    /// matches no value); If-None-Match is fulfilled only when the resource does not exist.
    /// </summary>
    public static CoapMessage? Evaluate(CoapMessage request, bool resourceExists, ReadOnlyMemory<byte>? currentETag = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var ifMatch = request.Options.GetRun(CoapOptionNumber.IfMatch);
        if (ifMatch.Length > 0)
        {
            bool matched = false;
            foreach (var option in ifMatch)
            {
                if (option.Value.IsEmpty ? resourceExists : resourceExists && currentETag is { } etag && option.Value.Span.SequenceEqual(etag.Span))
                {
                    matched = true;
                    break;
                }
            }

            if (!matched)
            {
                return Failed(resourceExists ? "If-Match: the resource's ETag matches none of the values" : "If-Match: the resource does not exist");
            }
        }

        if (request.Options.Contains(CoapOptionNumber.IfNoneMatch) && resourceExists)
        {
            return Failed("If-None-Match: the resource exists");
        }

        return null;
    }

    private static CoapMessage Failed(string diagnostic) => new CoapMessage { Code = CoapCode.PreconditionFailed }.WithPayload(diagnostic);
}
