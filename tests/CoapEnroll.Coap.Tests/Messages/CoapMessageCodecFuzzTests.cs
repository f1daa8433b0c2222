using CoapEnroll.Coap;

namespace CoapEnroll.Coap.Tests.Messages;

/// <summary>
/// Seeded random inputs: the decoder must never throw, and whatever decodes must re-encode to the same
/// bytes (the RFC 7252 §3.1 option encoding has exactly one form per value) and decode equal again.
/// The fixed seeds make a failure reproducible; the failing input is in the assertion message.
/// </summary>
public class CoapMessageCodecFuzzTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomBytes_NeverThrowAndRoundTripWhenValid(int seed)
    {
        var random = new Random(seed);
        int successes = 0;
        for (int i = 0; i < 20_000; i++)
        {
            byte[] bytes = new byte[random.Next(0, 48)];
            random.NextBytes(bytes);
            if (bytes.Length > 0 && random.Next(4) != 0)
            {
                // Mostly version 1 with a legal token length, so that the option parser gets exercised.
                bytes[0] = (byte)(0x40 | (bytes[0] & 0x30) | random.Next(0, 9));
            }

            if (bytes.Length > 1 && random.Next(3) != 0)
            {
                bytes[1] = (byte)(bytes[1] & 0x9F); // classes 0 and 4
            }

            if (Check(bytes))
            {
                successes++;
            }
        }

        // Guards the generator: if nothing decodes, the round-trip half of the test is vacuous.
        Assert.True(successes > 500, $"Only {successes} random inputs decoded.");
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void MutatedValidMessages_NeverThrowAndRoundTripWhenValid(int seed)
    {
        var random = new Random(seed);
        byte[][] samples = CoapMessageDecoderMalformedTests.SampleMessages().Select(CoapMessageEncoder.Encode).ToArray();
        int successes = 0;
        for (int i = 0; i < 20_000; i++)
        {
            byte[] bytes = Mutate(samples[random.Next(samples.Length)], random);
            if (Check(bytes))
            {
                successes++;
            }
        }

        Assert.True(successes > 2_000, $"Only {successes} mutated inputs decoded.");
    }

    private static byte[] Mutate(byte[] source, Random random)
    {
        var bytes = new List<byte>(source);
        int mutations = random.Next(1, 4);
        for (int m = 0; m < mutations; m++)
        {
            int at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            switch (random.Next(6))
            {
                case 0 when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when bytes.Count > 0:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 2:
                    bytes.Insert(at, (byte)random.Next(256));
                    break;
                case 3 when bytes.Count > 0:
                    bytes.RemoveAt(at);
                    break;
                case 4:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                default:
                    // Interesting bytes: nibbles 13/14/15 and the payload marker.
                    byte[] special = [0xFF, 0xD0, 0xE0, 0x0D, 0x0E, 0xDD, 0xEE, 0xF0, 0x0F];
                    if (bytes.Count > 0)
                    {
                        bytes[at] = special[random.Next(special.Length)];
                    }

                    break;
            }
        }

        return bytes.ToArray();
    }

    private static bool Check(byte[] bytes)
    {
        string hex = Convert.ToHexString(bytes);
        CoapMessage? message = null;
        CoapDecodeStatus status = default;
        Exception? thrown = Record.Exception(() => status = CoapMessageDecoder.TryDecode(bytes, out message));
        Assert.True(thrown is null, $"TryDecode threw {thrown?.GetType().Name} for {hex}: {thrown?.Message}");
        Assert.True(status == CoapMessageDecoder.Validate(bytes), $"Validate disagrees with TryDecode for {hex}");

        if (status != CoapDecodeStatus.Success)
        {
            Assert.Null(message);
            return false;
        }

        Assert.NotNull(message);

        // Whatever decodes must be safe to log and to inspect.
        thrown = Record.Exception(() =>
        {
            _ = message.ToString();
            _ = message.TryFindRejectableOption(out _);
            _ = message.Block1;
            _ = message.Block2;
            _ = message.ContentFormat;
            _ = message.UriPath;
        });
        Assert.True(thrown is null, $"Inspecting the message threw {thrown?.GetType().Name} for {hex}: {thrown?.Message}");

        byte[] encoded = CoapMessageEncoder.Encode(message);
        Assert.True(bytes.AsSpan().SequenceEqual(encoded), $"Re-encoding changed the bytes of {hex} to {Convert.ToHexString(encoded)}");
        Assert.Equal(CoapDecodeStatus.Success, CoapMessageDecoder.TryDecode(encoded, out var again));
        Assert.True(MessageAssert.AreEqual(message, again!), $"Re-decoding {hex} gave a different message");
        return true;
    }
}
