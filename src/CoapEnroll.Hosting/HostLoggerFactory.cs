using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoapEnroll.Hosting;

/// <summary>
/// The host's <see cref="ILoggerFactory"/> as seen by the HTTP listener's inner application: the same providers and filters, minus
/// the inner host's lifetime messages ("Now listening on", "Application started"), which would repeat what the outer host and
/// <see cref="HttpServerService"/> say. Never disposes the host's factory.
/// </summary>
internal sealed class HostLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    private const string LifetimeCategory = "Microsoft.Hosting.Lifetime";

    public ILogger CreateLogger(string categoryName) =>
        string.Equals(categoryName, LifetimeCategory, StringComparison.Ordinal) ? NullLogger.Instance : inner.CreateLogger(categoryName);

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose()
    {
        // The host owns the factory.
    }
}
