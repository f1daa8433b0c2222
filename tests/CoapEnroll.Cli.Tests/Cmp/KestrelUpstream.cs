using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// An HTTP or HTTPS server on loopback for the proxy to forward to: Kestrel running a test's handler, which records what arrived
/// (the proxy's request exactly as sent) and answers as the test needs, e.g. by passing the request on to <c>openssl cmp</c>'s mock.
/// </summary>
public sealed class KestrelUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    private KestrelUpstream(WebApplication app, int port, bool https)
    {
        _app = app;
        Port = port;
        Https = https;
    }

    public int Port { get; }

    public bool Https { get; }

    public string Url(string path) => $"{(Https ? "https" : "http")}://127.0.0.1:{Port}{path}";

    /// <param name="handler">Answers every request.</param>
    /// <param name="serverCertificate">With a certificate (and its key), HTTPS; else plain HTTP.</param>
    /// <param name="requireClientCertificate">HTTPS only: the TLS handshake needs a client certificate (any; the handler judges it).</param>
    public static async Task<KestrelUpstream> StartAsync(RequestDelegate handler, X509Certificate2? serverCertificate = null, bool requireClientCertificate = false)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (serverCertificate is not null)
            {
                listen.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificate = serverCertificate,
                    ClientCertificateMode = requireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.NoCertificate,
                    ClientCertificateValidation = (_, _, _) => true,
                });
            }
        }));
        WebApplication app = builder.Build();
        app.Run(handler);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new KestrelUpstream(app, new Uri(address).Port, serverCertificate is not null);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
