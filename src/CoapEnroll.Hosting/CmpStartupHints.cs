using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Hosting;

/// <summary>
/// Logs where CMP is served once the listeners are up and, on the first start of a demo PKI, an <c>openssl cmp</c> command that
/// enrolls with the demo MAC secret as printed. Registered after the listeners, so it starts after them.
/// </summary>
public sealed partial class CmpStartupHints : IHostedService
{
    private readonly CertificationServices _certification;
    private readonly IServiceProvider _services;
    private readonly ILogger<CmpStartupHints> _logger;

    public CmpStartupHints(CertificationServices certification, IServiceProvider services, ILogger<CmpStartupHints> logger)
    {
        _certification = certification;
        _services = services;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_certification.CmpEnabled)
        {
            return Task.CompletedTask;
        }

        var http = _services.GetService<HttpServerService>()?.LocalEndPoint;
        var https = _services.GetService<HttpsServerService>()?.LocalEndPoint;
        var coap = _services.GetService<CoapServerService>()?.LocalEndPoint;
        var urls = new List<string>();
        if (coap is not null)
        {
            urls.Add($"coap://{Host(coap)}:{coap.Port}/.well-known/cmp");
        }

        if (http is not null)
        {
            urls.Add($"http://{Host(http)}:{http.Port}/.well-known/cmp");
        }

        if (https is not null)
        {
            urls.Add($"https://{Host(https)}:{https.Port}/.well-known/cmp");
        }

        LogServed(string.Join(", ", urls));
        if (http is not null && _certification.IsFirstStart == true && _certification.DemoCmpSecret is { } secret)
        {
            LogHint(ShellWords.Join("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "device.key") + " && "
                + ShellWords.Join("openssl", "cmp", "-cmd", "ir", "-server", $"{Host(http)}:{http.Port}/.well-known/cmp", "-ref", CertificationServices.DemoCmpReference,
                    "-secret", $"pass:{secret}", "-newkey", "device.key", "-subject", "/CN=device-1", "-implicit_confirm", "-certout", "device.pem", "-cacertsout", "root.pem"));
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static string Host(System.Net.IPEndPoint endpoint) =>
        endpoint.Address.Equals(System.Net.IPAddress.Any) || endpoint.Address.Equals(System.Net.IPAddress.IPv6Any) ? "127.0.0.1"
        : endpoint.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !endpoint.Address.IsIPv4MappedToIPv6 ? $"[{endpoint.Address}]"
        : endpoint.Address.MapToIPv4().ToString();

    [LoggerMessage(430, LogLevel.Information, "CMP (RFC 9482, RFC 9811) at {Urls}")]
    private partial void LogServed(string urls);

    [LoggerMessage(431, LogLevel.Information, "Try CMP with the demo MAC secret: {Command}")]
    private partial void LogHint(string command);
}
