using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoapEnroll.Hosting;

/// <summary>
/// The operator page (<see cref="AdminSite"/>) on the host's https:// listener only, when <c>Admin:Enabled</c> is true; otherwise
/// it maps nothing and <c>/admin</c> is 404. Sessions and failed-login counts live as long as the host.
/// </summary>
public sealed class AdminEndpointSource : IHttpEndpointSource, IDisposable
{
    private readonly AdminOptions _options;
    private readonly CertificationServices _certification;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly AdminFigures? _figures;
    private AdminSite? _site;

    public AdminEndpointSource(IOptions<AdminOptions> options, CertificationServices certification, TimeProvider time, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(certification);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options.Value;
        _certification = certification;
        _time = time;
        _loggerFactory = loggerFactory;
        _figures = _options.Enabled ? new AdminFigures() : null;
    }

    /// <inheritdoc/>
    public HttpListenerKind Listeners => HttpListenerKind.Https;

    /// <summary>Maps <c>/admin</c> and its pages when enabled.</summary>
    /// <exception cref="InvalidOperationException">The <c>Admin</c> section is enabled but not usable (e.g. no way to authenticate).</exception>
    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        if (!_options.Enabled)
        {
            return;
        }

        _site ??= new AdminSite(_options, _certification, _figures!, _time, _loggerFactory.CreateLogger<AdminEndpointSource>());
        _site.Map(endpoints);
    }

    public void Dispose() => _figures?.Dispose();
}
