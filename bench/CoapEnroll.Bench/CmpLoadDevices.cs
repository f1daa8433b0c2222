using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Cmp;
using CoapEnroll.Coap;
using CoapEnroll.Transport;

namespace CoapEnroll.Bench;

/// <summary>
/// The <c>load --scenario cmp-ir</c> devices: device N has the CMP reference <c>bench-dev-N</c> and a random shared secret of its own,
/// registered in serve's store with the shipped CLI (<c>coapenroll cmp secrets add bench-dev-N --secret-file - --data DIR</c>, the
/// secret on stdin), so the name it may ask for is <c>CN=bench-dev-N</c> (a secret's subject is CN=reference alone). Each device has
/// one <see cref="CoapClient"/> (own UDP socket, the CLI's default CoAP parameters) to <c>coap://SERVER/.well-known/cmp</c>; one ir
/// is what <c>coapenroll cmp ir</c> does (<see cref="CmpClient"/>: a fresh P-256 key, PasswordBasedMac, every answer checked, then
/// certConf/pkiConf, or implicit confirmation when asked for).
/// </summary>
internal sealed class CmpLoadDevices : IAsyncDisposable
{
    private const string Path = "/.well-known/cmp";

    private readonly CmpCoapTransport[] _transports;
    private readonly CmpClientOptions[] _options;
    private readonly SemaphoreSlim[] _busy;

    private CmpLoadDevices(CmpCoapTransport[] transports, CmpClientOptions[] options)
    {
        _transports = transports;
        _options = options;
        _busy = [.. transports.Select(_ => new SemaphoreSlim(1, 1))];
    }

    /// <summary>Registers <paramref name="devices"/> secrets (replacing those a previous run left) and opens the devices' sockets.</summary>
    public static async Task<CmpLoadDevices> CreateAsync(string coapenrollDll, string dataDirectory, IPEndPoint server, int devices, bool implicitConfirm)
    {
        var secrets = new string[devices];
        int next = -1;
        // Two at a time: each is a `dotnet` start (about 0.3 s of CPU) on a 2-core machine.
        await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            int d;
            while ((d = Interlocked.Increment(ref next)) < devices)
            {
                secrets[d] = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
                string reference = BenchManufacturer.DeviceName(d);
                if (await RunCliAsync(coapenrollDll, ["cmp", "secrets", "add", reference, "--secret-file", "-", "--data", dataDirectory], secrets[d]) is { } first)
                {
                    // A previous run against the same data directory registered this reference already.
                    await RunCliAsync(coapenrollDll, ["cmp", "secrets", "remove", reference, "--data", dataDirectory], null);
                    if (await RunCliAsync(coapenrollDll, ["cmp", "secrets", "add", reference, "--secret-file", "-", "--data", dataDirectory], secrets[d]) is { } again)
                    {
                        throw new InvalidOperationException($"coapenroll cmp secrets add {reference} failed: {first} / {again}");
                    }
                }
            }
        })));

        var transports = new CmpCoapTransport[devices];
        var options = new CmpClientOptions[devices];
        for (int d = 0; d < devices; d++)
        {
            transports[d] = new CmpCoapTransport(new CoapClient(UdpDatagramChannel.ConnectTo(server)), server, Path);
            options[d] = new CmpClientOptions
            {
                Reference = BenchManufacturer.DeviceName(d),
                SharedSecret = Encoding.UTF8.GetBytes(secrets[d]),
                ImplicitConfirm = implicitConfirm,
            };
        }

        return new CmpLoadDevices(transports, options);
    }

    /// <summary>
    /// One ir of device <paramref name="d"/>; null when a certificate came back (and was confirmed), else the kind of failure. A device
    /// runs one transaction at a time: two from one UDP endpoint would fetch their block-wise answers from the same resource at once,
    /// which RFC 7959 §2.4 leaves to the server to tell apart (serve answers the second with 4.08).
    /// </summary>
    public async Task<string?> EnrollAsync(int d)
    {
        await _busy[d].WaitAsync();
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var client = new CmpClient(_transports[d], _options[d]);
            CmpEnrollmentResult result = await client.EnrollAsync(PkiBodyType.Ir, key, new X500DistinguishedName("CN=" + BenchManufacturer.DeviceName(d)), null,
                limit.Token);
            result.Certificate.Dispose();
            return null;
        }
        catch (CmpException ex)
        {
            return "CMP " + ex.Message.Split(':')[0];
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return ex.GetType().Name;
        }
        finally
        {
            _busy[d].Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (CmpCoapTransport transport in _transports)
        {
            await transport.DisposeAsync();
        }
    }

    /// <summary>Runs <c>dotnet COAPENROLL_DLL ARGS</c> with <paramref name="input"/> on stdin; null on exit code 0, else its output.</summary>
    private static async Task<string?> RunCliAsync(string dll, IEnumerable<string> arguments, string? input)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(dll);
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet " + dll);
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteLineAsync(input);
        }

        process.StandardInput.Close();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? null : $"exit {process.ExitCode}: {(await output).Trim()} {(await error).Trim()}";
    }
}
