using CoapEnroll.Est;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Hosting;

/// <summary>
/// EST over HTTPS (RFC 7030) on the host's https:// listener only (RFC 7030 §3.3: EST runs over TLS), in front of the host's
/// enrollment service with the <c>Est</c> section's settings, beside EST-coaps.
/// </summary>
public sealed class EstHttpsEndpointSource : IHttpEndpointSource
{
    private readonly CertificationServices _certification;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;

    public EstHttpsEndpointSource(CertificationServices certification, ILoggerFactory loggerFactory, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(certification);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(time);
        _certification = certification;
        _loggerFactory = loggerFactory;
        _time = time;
    }

    /// <inheritdoc/>
    public HttpListenerKind Listeners => HttpListenerKind.Https;

    /// <summary>Maps <c>/.well-known/est</c> (and the other <c>Est:Roots</c>) with their label paths.</summary>
    /// <exception cref="ArgumentException">The <c>Est</c> section's Basic authentication settings are unusable.</exception>
    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        var est = new EstHttpsServer(_certification.EstOptions ?? throw new InvalidOperationException("The enrollment service is not built yet."),
            _certification.Enrollment, _loggerFactory.CreateLogger<EstHttpsServer>(), _time);
        est.Map(endpoints);
    }
}
