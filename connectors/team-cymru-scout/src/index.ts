// placeholder until the connector lands
export {};
