using System.Net.Security;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Authentication.ExtendedProtection;
using System.Text;

namespace CoapEnroll.Est;

/// <summary>
/// tls-unique (RFC 5929 §3.1: the first Finished message of the handshake, the client's in a full handshake) of a TLS 1.2
/// <see cref="SslStream"/>, as .NET exposes it: a <see cref="ChannelBinding"/> handle holding a SEC_CHANNEL_BINDINGS structure whose
/// application data is "tls-unique:" followed by the value (the layout .NET uses on every platform).
/// </summary>
public static class TlsUniqueBinding
{
    private const int StructureSize = 32; // SEC_CHANNEL_BINDINGS: eight 32-bit fields
    private const int ApplicationDataLengthOffset = 24;
    private const int ApplicationDataOffsetOffset = 28;
    private static readonly byte[] s_prefix = Encoding.ASCII.GetBytes("tls-unique:");

    /// <summary>
    /// The tls-unique value of <paramref name="stream"/>, or null when the session is not TLS 1.2 (TLS 1.3 has none, RFC 9266) or
    /// the platform gives none.
    /// </summary>
    public static byte[]? Read(SslStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.SslProtocol != SslProtocols.Tls12)
        {
            return null;
        }

        using ChannelBinding? binding = stream.TransportContext?.GetChannelBinding(ChannelBindingKind.Unique);
        if (binding is null || binding.IsInvalid || binding.Size < StructureSize)
        {
            return null;
        }

        byte[] raw = new byte[binding.Size];
        Marshal.Copy(binding.DangerousGetHandle(), raw, 0, raw.Length);
        int length = BitConverter.ToInt32(raw, ApplicationDataLengthOffset);
        int offset = BitConverter.ToInt32(raw, ApplicationDataOffsetOffset);
        if (offset < StructureSize || length <= 0 || offset > raw.Length - length)
        {
            return null;
        }

        ReadOnlySpan<byte> data = raw.AsSpan(offset, length);
        if (data.StartsWith(s_prefix))
        {
            data = data[s_prefix.Length..];
        }

        return data.IsEmpty ? null : data.ToArray();
    }
}
