using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Hosting;

/// <summary>
/// Logs where EST over HTTPS is served once the HTTPS listener is up and, on the first start of a demo PKI, a <c>curl</c> command
/// that fetches the CA certificates with the demo root as trust. Registered after the HTTPS listener, so it starts after it.
/// </summary>
public sealed partial class EstHttpsStartupHints : IHostedService
{
    private readonly CertificationServices _certification;
    private readonly HttpsServerService _https;
    private readonly ILogger<EstHttpsStartupHints> _logger;

    public EstHttpsStartupHints(CertificationServices certification, HttpsServerService https, ILogger<EstHttpsStartupHints> logger)
    {
        _certification = certification;
        _https = https;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_https.LocalEndPoint is not { } local || _certification.EstOptions is not { } est)
        {
            return Task.CompletedTask;
        }

        string host = local.Address.Equals(IPAddress.Any) || local.Address.Equals(IPAddress.IPv6Any) ? "127.0.0.1" : KestrelListener.FormatHost(local.Address);
        string[] roots = [.. est.Roots.Select(r => $"https://{host}:{local.Port}/{r.Trim('/')}")];
        LogServed(string.Join(", ", roots));
        if (_certification.IsFirstStart == true)
        {
            string trust = Path.Combine(_certification.DataDirectory, "trust-anchor.pem");
            LogHint(ShellWords.Join("curl", "--cacert", trust, $"{roots[0]}/cacerts") + " | base64 -d | openssl pkcs7 -inform DER -print_certs");
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(440, LogLevel.Information, "EST over HTTPS (RFC 7030) at {Urls}")]
    private partial void LogServed(string urls);

    [LoggerMessage(441, LogLevel.Information, "Try EST over HTTPS: {Command}")]
    private partial void LogHint(string command);
}
