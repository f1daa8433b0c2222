using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace CoapEnroll.Cli.Tests.Est;

/// <summary>
/// Issue 11 item 5, a fleet under loss: 300 devices, each with its own IDevID from a manufacturer CA serve trusts, enroll over
/// EST-coaps against the host serve runs (shipped defaults), at most 32 at once, each through a link of its own that drops 20 %
/// of the datagrams each way and duplicates and reorders some. Every device ends with exactly one certificate, for its one CSR,
/// and no retransmission or repeated session makes the CA issue a second. The bench's <c>fleet</c> mode runs the same at 10,000.
/// </summary>
[Collection(nameof(FleetCollection))]
public sealed class FleetUnderLossTests(ITestOutputHelper output)
{
    private const int Devices = 300;

    [Fact]
    public async Task Every_device_gets_exactly_one_certificate_for_its_csr_through_20_percent_loss()
    {
        using var manufacturer = new DeviceManufacturer("Fleet Manufacturer CA");
        using var files = new TempDirectory("coapenroll-fleet-");
        string manufacturerFile = files.File("manufacturer-ca.pem");
        await File.WriteAllTextAsync(manufacturerFile, manufacturer.CaPem);
        await using InProcessServer server = await InProcessServer.StartAsync(new Dictionary<string, string?>
        {
            ["Ca:TrustedManufacturerCaFiles:0"] = manufacturerFile,
        });
        X509Certificate2Collection trust = [];
        trust.ImportFromPemFile(server.TrustAnchorFile);

        // Bounds a hung run, not its speed: a device that is stuck gives up after DeviceLimit and fails the assertions below.
        using var run = new CancellationTokenSource(TimeSpan.FromMinutes(20));
        FleetResult result = await FleetEnrollment.RunAsync(new FleetOptions
        {
            Server = server.SecureEndPoint,
            ServerTrustAnchors = trust,
            Manufacturer = manufacturer,
            Devices = Devices,
            Concurrency = 32,
            LossRate = 0.2,
            DuplicationRate = 0.1,
            ReorderRate = 0.1,
            DeviceLimit = TimeSpan.FromMinutes(5),
        }, run.Token);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{result.Enrolled}/{Devices} enrolled in {result.Elapsed.TotalSeconds:F1} s; sessions {result.Devices.Sum(d => d.Attempts)}; "
            + $"CoAP retransmissions {result.CoapRetransmissions}, duplicates {result.CoapDuplicates}; DTLS flight retransmissions {result.DtlsRetransmissions}; "
            + $"datagrams to server {result.Devices.Sum(d => d.DatagramsToServer)}, to devices {result.Devices.Sum(d => d.DatagramsToDevice)}"));

        // No device stuck, none answered 5.00 (nor any other error).
        FleetDeviceResult[] failed = [.. result.Devices.Where(d => !d.Enrolled || d.ErrorCodes.Count > 0)];
        Assert.True(failed.Length == 0, $"{failed.Length} devices failed or saw an error response: "
            + string.Join("; ", failed.Take(5).Select(d => $"{d.Subject} after {d.Attempts} sessions: {string.Join(" | ", d.Errors)}")));

        // Each device holds a certificate for its own key and name.
        foreach (FleetDeviceResult device in result.Devices)
        {
            Assert.Equal(device.Subject, device.Certificate!.Subject);
            Assert.Equal(device.PublicKeySha256, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(device.Certificate.PublicKey.ExportSubjectPublicKeyInfo())));
        }

        // The store: one certificate per CSR (per public key), every one the certificate its device received, and one issued
        // request per device. Repeats across sessions were answered from the store, retransmissions within one by duplicate detection.
        ICertificateStore store = server.Services.GetRequiredService<ICertificateStore>();
        IReadOnlyList<StoredCertificate> certificates = await store.ListCertificatesAsync(10_000, run.Token);
        StoredCertificate[] fleet = [.. certificates.Where(c => c.Subject.StartsWith("CN=fleet-", StringComparison.Ordinal))];
        Assert.Equal(Devices, fleet.Length);
        Assert.Equal(Devices, fleet.Select(c => c.PublicKeySha256).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(Devices, fleet.Select(c => c.RequestId).Distinct().Count());
        var bySerial = fleet.ToDictionary(c => c.SerialNumber, StringComparer.OrdinalIgnoreCase);
        foreach (FleetDeviceResult device in result.Devices)
        {
            Assert.True(bySerial.TryGetValue(device.Certificate!.SerialNumber, out StoredCertificate? stored), $"{device.Subject}'s certificate is not in the store");
            Assert.Equal(device.PublicKeySha256, stored.PublicKeySha256);
        }

        IReadOnlyList<StoredRequest> requests = await store.ListRequestsAsync(null, 10_000, run.Token);
        Assert.DoesNotContain(requests, r => r.Status != RequestStatus.Issued);
        Assert.Equal(Devices, requests.Count(r => r.Status == RequestStatus.Issued));

        // The loss really happened and was absorbed: messages were retransmitted, and duplicate detection recognised copies.
        Assert.True(result.CoapRetransmissions > 0, "no CoAP retransmission: the links lost nothing");
        Assert.True(result.CoapDuplicates > 0, "duplicate detection recognised no duplicate");
    }
}
