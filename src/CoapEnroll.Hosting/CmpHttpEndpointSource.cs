using CoapEnroll.Cmp;
using Microsoft.AspNetCore.Routing;

namespace CoapEnroll.Hosting;

/// <summary>
/// CMP over HTTP (RFC 6712, RFC 9811) on the host's http:// and https:// listeners, in front of the host's <see cref="CmpServer"/>.
/// The messages protect themselves (RFC 9811 §3.6): over https:// a client certificate plays no part.
/// </summary>
public sealed class CmpHttpEndpointSource : IHttpEndpointSource
{
    private readonly CertificationServices _certification;

    public CmpHttpEndpointSource(CertificationServices certification)
    {
        ArgumentNullException.ThrowIfNull(certification);
        _certification = certification;
    }

    /// <inheritdoc/>
    public HttpListenerKind Listeners => HttpListenerKind.Both;

    /// <summary>Maps <c>/.well-known/cmp</c> and its profile and operation paths; nothing when <c>Cmp:Enabled</c> is false.</summary>
    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        if (_certification.CmpEnabled)
        {
            endpoints.MapCmp(_certification.Cmp, "cmp-http");
        }
    }
}
