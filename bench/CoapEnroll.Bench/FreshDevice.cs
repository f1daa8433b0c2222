using CoapEnroll.Dtls;

namespace CoapEnroll.Bench;

/// <summary>
/// One new device of <see cref="FreshDevices"/>: its number N (it enrolls <c>CN=bench-dev-N</c>) and DTLS client options with its
/// own certificate and key. Used for one enrollment or one handshake, then disposed.
/// </summary>
internal sealed record FreshDevice(int Number, DtlsClientOptions Options) : IDisposable
{
    public string Subject => "CN=" + BenchManufacturer.DeviceName(Number);

    public void Dispose() => Options.ClientCertificate?.Dispose();
}
