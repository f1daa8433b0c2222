using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Dtls;
using CoapEnroll.Est;
using CoapEnroll.Pkix;
using CoapEnroll.Transport;

namespace CoapEnroll.Bench;

/// <summary>
/// EST-coaps enrollments as a device does them, one after another: a DTLS handshake with serve's demo device identity
/// (DIR/demo/device.pem and .key, serve trusting DIR/trust-anchor.pem), then /sen for CN=demo-device-1 with a new P-256 key,
/// through <see cref="EstCoapsClient"/> with its default CoAP parameters (ACK_TIMEOUT 2 s, MAX_RETRANSMIT 4).
/// </summary>
internal static class EnrollmentProbe
{
    public const string Subject = "CN=demo-device-1";

    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    /// <summary>
    /// Runs up to <paramref name="count"/> enrollments, the first after <paramref name="delay"/> and each next one
    /// <paramref name="gap"/> after the previous ended, none started at or after <paramref name="lastStart"/> (a
    /// <see cref="Stopwatch"/> timestamp). Each is bounded by two minutes.
    /// </summary>
    public static async Task<List<EnrollmentResult>> RunAsync(IPEndPoint coaps, string dataDirectory, int count, TimeSpan delay, TimeSpan gap,
        long lastStart)
    {
        var results = new List<EnrollmentResult>();
        DtlsClientOptions options = await LoadDemoDeviceAsync(dataDirectory);
        await Task.Delay(delay);
        for (int i = 0; i < count && Stopwatch.GetTimestamp() < lastStart; i++)
        {
            if (i > 0)
            {
                await Task.Delay(gap);
            }

            results.Add(await EnrollAsync(coaps, options));
        }

        return results;
    }

    /// <summary>
    /// DTLS client options for serve's demo device: its certificate and key (DIR/demo/device.pem and .key) and chain, trusting
    /// DIR/trust-anchor.pem for the server.
    /// </summary>
    public static async Task<DtlsClientOptions> LoadDemoDeviceAsync(string dataDirectory)
    {
        var trust = await PemCredentialFiles.LoadCertificatesAsync(Path.Combine(dataDirectory, "trust-anchor.pem"), CancellationToken.None);
        var (device, chain) = await PemCredentialFiles.LoadCertificateWithKeyAsync(
            Path.Combine(dataDirectory, "demo", "device.pem"), Path.Combine(dataDirectory, "demo", "device.key"), null, CancellationToken.None);
        var options = new DtlsClientOptions { ClientCertificate = device };
        options.ServerCertificateTrustAnchors.AddRange(trust.ToArray());
        options.ClientCertificateChain.AddRange(chain.ToArray());
        return options;
    }

    /// <summary>A DTLS session to <paramref name="server"/> from <paramref name="source"/> when given, else from the address the system picks.</summary>
    public static Task<DtlsClientChannel> ConnectAsync(IPEndPoint server, DtlsClientOptions options, IPAddress? source, CancellationToken cancellationToken) =>
        source is null ? DtlsClientChannel.ConnectAsync(server, options, cancellationToken)
            : DtlsClientChannel.ConnectAsync(UdpDatagramChannel.ConnectTo(server, source, options.PathMtu), server, options, cancellationToken);

    /// <summary>
    /// One enrollment: handshake, /sen for <paramref name="subject"/> (<see cref="Subject"/> when null) with <paramref name="key"/> (a new
    /// P-256 key when null), close; from <paramref name="source"/> when given (else the address the system picks).
    /// </summary>
    public static async Task<EnrollmentResult> EnrollAsync(IPEndPoint coaps, DtlsClientOptions options, ECDsa? key = null, string? subject = null,
        IPAddress? source = null)
    {
        using var limit = new CancellationTokenSource(Limit);
        var clock = Stopwatch.StartNew();
        double handshakeMs = 0;
        try
        {
            DtlsClientChannel channel = await ConnectAsync(coaps, options, source, limit.Token);
            handshakeMs = clock.Elapsed.TotalMilliseconds;
            await using var est = new EstCoapsClient(channel);
            using ECDsa? created = key is null ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : null;
            using X509Certificate2 issued = await est.EnrollAsync(new X500DistinguishedName(subject ?? Subject), key ?? created, cancellationToken: limit.Token);
            return new EnrollmentResult(true, handshakeMs, clock.Elapsed.TotalMilliseconds, issued.SerialNumber);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return new EnrollmentResult(false, handshakeMs, clock.Elapsed.TotalMilliseconds, $"{ex.GetType().Name}: {ex.Message}");
        }
    }
}
