using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Est;

namespace CoapEnroll.Testing;

/// <summary>
/// A fleet of simulated devices enrolling over EST-coaps (/sen) through lossy links: each device has an identity of its own from
/// a <see cref="DeviceManufacturer"/>, a <see cref="LossyForwarder"/> of its own between it and the server (loss, duplication
/// and reordering both ways), and one CSR (without a proof-of-possession link, so that it is the same CSR in every session)
/// that it sends until it has a certificate: within a session the CoAP and DTLS stacks retransmit with their shipped settings;
/// when a session fails (a handshake or an exchange runs out of retransmissions) the device starts a new one and sends the same
/// CSR again, as a device that lost power would. At most <see cref="FleetOptions.Concurrency"/> devices enroll at once.
/// </summary>
public static class FleetEnrollment
{
    public static async Task<FleetResult> RunAsync(FleetOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        long retransmissions = 0;
        long duplicates = 0;
        using var meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "CoapEnroll.Coap" && instrument.Name is "coap.messages.retransmitted" or "coap.messages.duplicate")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        meters.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "coap.messages.retransmitted")
            {
                Interlocked.Add(ref retransmissions, value);
            }
            else
            {
                Interlocked.Add(ref duplicates, value);
            }
        });
        meters.Start();
        var dtls = new DtlsRetransmissionCounter();

        var results = new FleetDeviceResult[options.Devices];
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, options.Devices),
            new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency, CancellationToken = cancellationToken },
            async (index, token) =>
            {
                results[index] = await EnrollDeviceAsync(options, index, dtls, token);
                options.DeviceFinished?.Invoke(results[index]);
            });

        return new FleetResult
        {
            Devices = results,
            Elapsed = clock.Elapsed,
            CoapRetransmissions = Interlocked.Read(ref retransmissions),
            CoapDuplicates = Interlocked.Read(ref duplicates),
            DtlsRetransmissions = dtls.Count,
        };
    }

    private static async Task<FleetDeviceResult> EnrollDeviceAsync(FleetOptions options, int index, DtlsRetransmissionCounter dtls, CancellationToken cancellationToken)
    {
        string name = $"{options.NamePrefix}-{index:D5}";
        using X509Certificate2 identity = options.Manufacturer.Issue(name, name);
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256).CreateSigningRequest();
        var dtlsOptions = new DtlsClientOptions { ClientCertificate = identity, LoggerFactory = dtls };
        dtlsOptions.ServerCertificateTrustAnchors.AddRange(options.ServerTrustAnchors);

        var errors = new List<string>();
        var codes = new List<string>();
        X509Certificate2? certificate = null;
        int attempts = 0;
        IPAddress? address = options.DistinctAddresses ? new IPAddress([127, 1, (byte)(index / 250), (byte)(index % 250 + 1)]) : null;
        await using var link = new LossyForwarder(options.Server, options.Seed + index, address)
        {
            LossRate = options.LossRate,
            DuplicationRate = options.DuplicationRate,
            ReorderRate = options.ReorderRate,
        };
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(options.DeviceLimit);
        var clock = Stopwatch.StartNew();
        while (certificate is null && attempts < options.MaxAttempts && !limit.IsCancellationRequested)
        {
            attempts++;
            try
            {
                DtlsClientChannel channel = await DtlsClientChannel.ConnectAsync(link.EndPoint, dtlsOptions, limit.Token);
                await using var est = new EstCoapsClient(channel);
                certificate = await est.EnrollAsync(csr, cancellationToken: limit.Token);
            }
            catch (EstRequestException ex)
            {
                codes.Add(ex.Code.ToString());
                errors.Add($"{ex.Code} {ex.Diagnostic}");
            }
            catch (OperationCanceledException) when (limit.IsCancellationRequested)
            {
                cancellationToken.ThrowIfCancellationRequested();
                errors.Add($"gave up after {options.DeviceLimit.TotalSeconds} s");
            }
            catch (Exception ex) when (ex is CoapProtocolException or DtlsHandshakeException or TimeoutException or IOException or OperationCanceledException)
            {
                errors.Add($"{ex.GetType().Name}: {ex.Message}");
            }
        }

        return new FleetDeviceResult
        {
            Index = index,
            Subject = $"CN={name}",
            CsrDer = csr,
            PublicKeySha256 = Convert.ToHexString(SHA256.HashData(key.ExportSubjectPublicKeyInfo())),
            Certificate = certificate,
            Attempts = attempts,
            Elapsed = clock.Elapsed,
            Errors = errors,
            ErrorCodes = codes,
            DatagramsToServer = link.ForwardedToServer,
            DatagramsToDevice = link.ForwardedToClient,
        };
    }
}
