using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using CoapEnroll.Coap;

namespace CoapEnroll.Bench;

/// <summary>
/// Pieces of the server's per-request path that are not in the codec. <see cref="BlockKeyEquivalent"/>
/// replicates what CoapBlockWiseLayer.HandleAsync did for every request, block-wise or not, before the key became lazy
/// (BlockTransferKey.Create: an IncrementalHash SHA-256 over code and cache-key options, then Base64 of 16
/// bytes), through public APIs only, since BlockTransferKey is internal.
/// </summary>
[MemoryDiagnoser]
public class ServerPathBenchmarks
{
    private CoapMessage _request = null!;

    [GlobalSetup]
    public void Setup()
    {
        byte[] datagram = CoapMessageEncoder.Encode(CoapMessage.CreateRequest(CoapCode.Get, "/time") with { MessageId = 1, Token = new byte[] { 1, 2, 3, 4 } });
        _request = CoapMessageDecoder.Decode(datagram);
    }

    [Benchmark]
    public string BlockKeyEquivalent()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> header = stackalloc byte[4];
        header[0] = _request.Code.Value;
        hash.AppendData(header[..1]);
        foreach (CoapOption option in _request.Options.AsSpan())
        {
            header[0] = (byte)(option.Number >> 8);
            header[1] = (byte)option.Number;
            header[2] = (byte)(option.Value.Length >> 8);
            header[3] = (byte)option.Value.Length;
            hash.AppendData(header);
            hash.AppendData(option.Value.Span);
        }

        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return Convert.ToBase64String(digest[..16]);
    }

    /// <summary>
    /// CoapMessage.UriPathSegments. The router no longer calls it (it matches the options' bytes), and it is decoded
    /// once per option collection, so this measures the cached read after the first call.
    /// </summary>
    [Benchmark]
    public int UriPathSegments() => _request.UriPathSegments.Count;

    /// <summary>Encode into a new exact-size array, as CoapEndpoint does for every reply.</summary>
    [Benchmark]
    public byte[] EncodeToNewArray() => CoapMessageEncoder.Encode(_request);
}
