using Microsoft.Extensions.Hosting;

namespace CoapEnroll.Hosting;

/// <summary>
/// The lifetime of the HTTP listener's inner application: none of its own. The outer host handles Ctrl-C and SIGTERM and stops
/// <see cref="HttpServerService"/>, which stops the inner application; a second console lifetime would race it.
/// </summary>
internal sealed class OuterHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
