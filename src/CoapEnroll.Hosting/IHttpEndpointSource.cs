using Microsoft.AspNetCore.Routing;

namespace CoapEnroll.Hosting;

/// <summary>
/// Contributes routes to the HTTP listeners (<see cref="HttpServerService"/> for http://, <see cref="HttpsServerService"/> for
/// https://). Register implementations in the host's container (<c>services.AddSingleton&lt;IHttpEndpointSource, MySource&gt;()</c>);
/// every registered one maps its endpoints once on each listener it names in <see cref="Listeners"/>, when that listener starts.
/// Each listener runs its own small ASP.NET Core application: <c>HttpContext.RequestServices</c> there is that application's
/// container, not the host's, so a source takes what its handlers need (the enrollment service, loggers, ...) through its own
/// constructor, which the host's container calls.
/// </summary>
public interface IHttpEndpointSource
{
    /// <summary>
    /// The listeners this source's routes belong on: a protocol that needs TLS (EST, RFC 7030 §3.3) names only
    /// <see cref="HttpListenerKind.Https"/>, so that over http:// its paths are 404.
    /// </summary>
    HttpListenerKind Listeners { get; }

    /// <summary>Maps this source's routes, e.g. <c>endpoints.MapPost("/.well-known/cmp", ...)</c>.</summary>
    void MapEndpoints(IEndpointRouteBuilder endpoints);
}
