using System.Security.Cryptography;

namespace CoapEnroll.Dtls;

/// <summary>
/// The handshake_messages input to Finished, CertificateVerify and the extended master secret's
/// session_hash. RFC 6347 §4.2.6: each message is hashed as if sent unfragmented — the 12-byte DTLS header
/// with fragment_offset 0 and fragment_length = length — followed by the body.
/// Excluded by RFC 6347 §4.2.1: the first ClientHello (the one without cookie) and HelloVerifyRequest; only
/// ClientHello2 onwards goes in. The client cannot know whether a HelloVerifyRequest follows, so it
/// appends its ClientHello only once it sees ServerHello (or calls <see cref="Reset"/> on HelloVerifyRequest).
/// Retransmitted messages must not be appended twice. The bytes are kept (bounded), so any hash — SHA-256
/// for the PRF, SHA-384 for a P-384 CertificateVerify — can be computed over any prefix.
/// </summary>
internal sealed class HandshakeTranscript
{
    private readonly int _maxLength;
    private byte[] _buffer = new byte[2048];
    private int _length;

    public HandshakeTranscript(int maxLength = 256 * 1024) => _maxLength = maxLength;

    /// <summary>The transcript so far (the CertificateVerify signature input).</summary>
    public ReadOnlySpan<byte> Messages => _buffer.AsSpan(0, _length);

    public int Length => _length;

    /// <summary>Appends a message in its unfragmented form.</summary>
    public void Append(HandshakeType type, ushort messageSeq, ReadOnlySpan<byte> body)
    {
        int needed = _length + HandshakeHeader.Size + body.Length;
        if (needed > _maxLength)
        {
            throw new InvalidOperationException("Handshake transcript limit exceeded.");
        }

        if (needed > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Min(_maxLength, Math.Max(needed, _buffer.Length * 2)));
        }

        new HandshakeHeader(type, body.Length, messageSeq, 0, body.Length).WriteTo(_buffer.AsSpan(_length));
        body.CopyTo(_buffer.AsSpan(_length + HandshakeHeader.Size));
        _length = needed;
    }

    /// <summary>Appends a reassembled message.</summary>
    public void Append(ReassembledHandshakeMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Append(message.Type, message.MessageSeq, message.Body);
    }

    /// <summary>Hash of the transcript so far (SHA-256 is the PRF hash of all suites here).</summary>
    public byte[] GetHash(HashAlgorithmName hash) => GetHash(hash, _length);

    /// <summary>Hash of the first <paramref name="prefixLength"/> bytes (a checkpoint from <see cref="Length"/>).</summary>
    public byte[] GetHash(HashAlgorithmName hash, int prefixLength)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)prefixLength, (uint)_length, nameof(prefixLength));
        return CryptographicOperations.HashData(hash, _buffer.AsSpan(0, prefixLength));
    }

    /// <summary>Forgets everything (e.g. the client's ClientHello1 after a HelloVerifyRequest).</summary>
    public void Reset()
    {
        CryptographicOperations.ZeroMemory(_buffer.AsSpan(0, _length));
        _length = 0;
    }
}
