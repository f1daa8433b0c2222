namespace CoapEnroll.Coap.Tests.Observe;

public class ObserveSequenceTests
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(1);

    [Theory]
    [InlineData(5u, 6u, true)]                 // V1 < V2, small step
    [InlineData(6u, 5u, false)]                // reordered: older than the freshest
    [InlineData(7u, 7u, false)]                // duplicate
    [InlineData(0u, 0x7FFFFFu, true)]          // V2 - V1 = 2^23 - 1 < 2^23
    [InlineData(0u, 0x800000u, false)]         // V2 - V1 = 2^23 is not < 2^23
    [InlineData(0xFFFFFEu, 1u, true)]          // wrapped: V1 - V2 > 2^23
    [InlineData(1u, 0xFFFFFEu, false)]         // the other way round across the wrap
    [InlineData(0x800001u, 0u, true)]          // V1 - V2 = 2^23 + 1 > 2^23
    [InlineData(0x800000u, 0u, false)]         // V1 - V2 = 2^23 is not > 2^23
    public void IsFresher_FollowsRfc7641Section34(uint v1, uint v2, bool expected)
        => Assert.Equal(expected, ObserveSequence.IsFresher(v1, v2, Soon));

    [Fact]
    public void IsFresher_After128Seconds_AcceptsAnyValue()
    {
        Assert.False(ObserveSequence.IsFresher(100, 50, TimeSpan.FromSeconds(128)));
        Assert.True(ObserveSequence.IsFresher(100, 50, TimeSpan.FromSeconds(128.001)));
        Assert.True(ObserveSequence.IsFresher(100, 100, TimeSpan.FromSeconds(200)));
    }

    [Fact]
    public void Next_StrictlyIncreasesAndWrapsAt24Bits()
    {
        var sequence = new ObserveSequence(0xFFFFFE);
        Assert.Equal(0xFFFFFEu, sequence.Next(0xFFFFFE));
        Assert.Equal(0xFFFFFFu, sequence.Next(0xFFFFFE));   // clock stood still: +1
        Assert.Equal(0u, sequence.Next(0xFFFFFF));           // wraps to 0
        Assert.Equal(1u, sequence.Next(0));
        Assert.Equal(50u, sequence.Next(50));                // clock ran ahead: jumps to it
        Assert.Equal(51u, sequence.Next(10));                // clock behind (older): +1
        Assert.Equal(51u, sequence.Current);
    }

    [Fact]
    public void ClockValue_AdvancesAtHalfTheAllowedRate()
    {
        // §4.4: no more than 2^23 within 256 s; the clock part uses 2^22 of it.
        Assert.Equal(0x400000u, ObserveSequence.ClockValue(TimeSpan.FromSeconds(256)));
        Assert.Equal(0u, ObserveSequence.ClockValue(TimeSpan.FromSeconds(1024)));
    }
}
