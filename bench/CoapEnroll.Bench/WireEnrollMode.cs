using System.Net;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Dtls;
using CoapEnroll.Est;

namespace CoapEnroll.Bench;

/// <summary>
/// <c>wire-enroll PORT DATA_DIR CSR.der BLOCK</c>: one complete EST-coaps enrollment in ONE DTLS session, as bench/wire.sh
/// captures it: handshake with serve's demo device identity, GET /crts, POST /sen with the given CSR (DER), close. libcoap's
/// coap-client and <c>coapenroll est</c> send one request per run (two sessions for /crts + /sen); this is the same
/// exchange the way a device keeps its session. Prints the issued serial or the error; exit 0 only on success.
/// </summary>
internal static class WireEnrollMode
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length != 5 || !int.TryParse(args[1], out int port) || !int.TryParse(args[4], out int block))
        {
            Console.Error.WriteLine("usage: wire-enroll PORT DATA_DIR CSR.der BLOCK");
            return 2;
        }

        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        DtlsClientOptions dtls = await EnrollmentProbe.LoadDemoDeviceAsync(args[2]);
        byte[] csr = await File.ReadAllBytesAsync(args[3], limit.Token);
        var options = new EstClientOptions();
        options.Coap.BlockSize = block;
        DtlsClientChannel channel = await DtlsClientChannel.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), dtls, limit.Token);
        await using var est = new EstCoapsClient(channel, options);
        X509Certificate2Collection cas = await est.GetCaCertificatesAsync(cancellationToken: limit.Token);
        using X509Certificate2 issued = await est.EnrollAsync(csr, cancellationToken: limit.Token);
        Console.WriteLine($"crts: {cas.Count} certificates; sen: serial {issued.SerialNumber}");
        return 0;
    }
}
