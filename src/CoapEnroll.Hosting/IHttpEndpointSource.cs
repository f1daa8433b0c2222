using Microsoft.AspNetCore.Routing;

namespace CoapEnroll.Hosting;

/// <summary>
/// Contributes routes to the HTTP listener (<see cref="HttpServerService"/>). Register implementations in the host's container
/// (<c>services.AddSingleton&lt;IHttpEndpointSource, MySource&gt;()</c>); every registered one maps its endpoints once, when the
/// listener starts. The listener runs its own small ASP.NET Core application: <c>HttpContext.RequestServices</c> there is that
/// application's container, not the host's, so a source takes what its handlers need (the enrollment service, loggers, ...)
/// through its own constructor, which the host's container calls.
/// </summary>
public interface IHttpEndpointSource
{
    /// <summary>Maps this source's routes, e.g. <c>endpoints.MapPost("/.well-known/cmp", ...)</c>.</summary>
    void MapEndpoints(IEndpointRouteBuilder endpoints);
}
