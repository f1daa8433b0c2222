using BenchmarkDotNet.Attributes;
using CoapEnroll.Coap;

namespace CoapEnroll.Bench;

/// <summary>Encoding and decoding of the messages an enrollment exchange is made of.</summary>
[MemoryDiagnoser]
public class CodecBenchmarks
{
    private readonly byte[] _buffer = new byte[1280];
    private CoapMessage _request = null!;
    private byte[] _requestBytes = null!;
    private byte[] _responseBytes = null!;

    [GlobalSetup]
    public void Setup()
    {
        // A CON POST /.well-known/est/sen block of a CSR, as a device sends it at 64-byte blocks.
        _request = CoapMessage.CreateRequest(CoapCode.Post, "/.well-known/est/sen") with
        {
            MessageId = 0x1234,
            Token = new byte[] { 1, 2, 3, 4 },
            Payload = new byte[64],
        };
        _request = _request.WithContentFormat(CoapContentFormat.Pkcs10)
            .WithBlock1(new BlockOption(3, true, 2))
            .SetUInt(CoapOptionNumber.Size1, 400);
        _requestBytes = CoapMessageEncoder.Encode(_request);

        var response = new CoapMessage
        {
            Type = CoapMessageType.Acknowledgement,
            Code = CoapCode.Changed,
            MessageId = 0x1234,
            Token = new byte[] { 1, 2, 3, 4 },
            Payload = new byte[1024],
        }.WithContentFormat(CoapContentFormat.Pkcs7CertsOnly).WithBlock2(new BlockOption(0, true, 6)).SetUInt(CoapOptionNumber.Size2, 1500);
        _responseBytes = CoapMessageEncoder.Encode(response);
    }

    [Benchmark]
    public int EncodeRequestIntoBuffer()
    {
        CoapMessageEncoder.TryEncode(_request, _buffer, out int written);
        return written;
    }

    [Benchmark]
    public CoapMessage? DecodeRequest()
    {
        CoapMessageDecoder.TryDecode(_requestBytes, out var message);
        return message;
    }

    [Benchmark]
    public CoapDecodeStatus ValidateRequest() => CoapMessageDecoder.Validate(_requestBytes);

    [Benchmark]
    public CoapMessage? DecodeBlockResponse()
    {
        CoapMessageDecoder.TryDecode(_responseBytes, out var message);
        return message;
    }
}
