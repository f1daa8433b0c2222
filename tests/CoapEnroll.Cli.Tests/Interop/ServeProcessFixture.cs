using System.Text;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Interop;

/// <summary>
/// One <c>coapenroll serve</c> process on its shipped defaults (a fresh data directory, the demo PKI) with one PSK identity, for
/// <see cref="LibCoapEstNameTests"/>.
/// </summary>
public sealed class ServeProcessFixture : IAsyncLifetime
{
    public const string PskIdentity = "libcoap-device";

    // libcoap 4.3.1 takes -k as the key's bytes; serve is configured with their hex.
    public const string PskText = "names-psk-012345";

    private ServeProcess? _server;

    public string WorkingDirectory { get; } = Path.Combine(Path.GetTempPath(), "coapenroll-tests", "names-" + Guid.NewGuid().ToString("N"));

    public ServeProcess Server => _server ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(WorkingDirectory);
        _server = await ServeProcess.StartAsync(WorkingDirectory, $"--Dtls:Psk:{PskIdentity}={Convert.ToHexString(Encoding.ASCII.GetBytes(PskText))}");
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        try
        {
            Directory.Delete(WorkingDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
