"""Writes of the hall as a service, one module per part: halls (halls, windows, service
points, venues), booking (统一预约), queue (取号叫号 and the counter's window), waitlist
(轮候), kiosk (自助终端). Keyword-only, one transaction and one audit or event row each."""
