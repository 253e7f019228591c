import { type HttpClient, z } from '@cti/connector-sdk';

/** The fields used; anything else GreyNoise sends is tolerated. */
const communityAnswer = z.looseObject({
  ip: z.string(),
  noise: z.boolean(),
  riot: z.boolean(),
  classification: z.string().optional(),
  name: z.string().optional(),
  link: z.string().optional(),
});
export type CommunityAnswer = z.output<typeof communityAnswer>;

export class GreynoiseClient {
  constructor(private readonly http: HttpClient) {}

  /** GET /v3/community/{ip}; null when GreyNoise has not seen the IP (404). */
  async lookup(ip: string, signal: AbortSignal): Promise<CommunityAnswer | null> {
    const url = `/v3/community/${encodeURIComponent(ip)}`;
    const res = await this.http.get(url, { schema: communityAnswer, acceptStatus: [404], signal });
    return res.ok ? res.data : null;
  }
}
